-- name: MaterialUpsert :exec
INSERT INTO materials (code, name) VALUES (@code, @name)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name;

-- name: MatterUpsert :exec
INSERT INTO matters (code, name, department, level, limit_days, complexity, where_to_go)
VALUES (@code, @name, @department, @level, @limit_days, @complexity, @where_to_go)
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name, department = EXCLUDED.department, level = EXCLUDED.level,
    limit_days = EXCLUDED.limit_days, complexity = EXCLUDED.complexity,
    where_to_go = EXCLUDED.where_to_go;

-- name: MatterMaterialsClear :exec
DELETE FROM matter_materials WHERE matter_code = $1;

-- name: MatterMaterialInsert :exec
INSERT INTO matter_materials (matter_code, material_code, position, original, count)
VALUES (@matter_code, @material_code, @position, @original, @count);

-- name: MatterList :many
SELECT * FROM matters ORDER BY code;

-- name: MatterGet :one
SELECT * FROM matters WHERE code = $1;

-- name: MatterMaterialsAll :many
SELECT mm.matter_code, mm.material_code, m.name, mm.original, mm.count
FROM matter_materials mm JOIN materials m ON m.code = mm.material_code
ORDER BY mm.matter_code, mm.position;

-- name: MatterMaterials :many
SELECT mm.matter_code, mm.material_code, m.name, mm.original, mm.count
FROM matter_materials mm JOIN materials m ON m.code = mm.material_code
WHERE mm.matter_code = ANY(@codes::text[])
ORDER BY mm.matter_code, mm.position;

-- name: ChainUpsert :exec
INSERT INTO chains (code, name) VALUES (@code, @name)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name;

-- name: ChainMattersClear :exec
DELETE FROM chain_matters WHERE chain_code = $1;

-- name: ChainMatterInsert :exec
INSERT INTO chain_matters (chain_code, matter_code, position)
VALUES (@chain_code, @matter_code, @position);

-- name: ChainList :many
SELECT c.code, c.name, array_agg(cm.matter_code ORDER BY cm.position)::text[] AS matters
FROM chains c JOIN chain_matters cm ON cm.chain_code = c.code
GROUP BY c.code, c.name
ORDER BY c.code;

-- name: MatterGuideSet :exec
UPDATE matters SET conditions = @conditions, legal_basis = @legal_basis, fees = @fees,
    office_hours = @office_hours, phone = @phone, flow = @flow
WHERE code = @code;

-- name: MatterMaterialGuideSet :exec
UPDATE matter_materials SET source = @source, blank_form = @blank_form, sample = @sample
WHERE matter_code = @matter_code AND material_code = @material_code;

-- name: MatterMaterialGuides :many
SELECT mm.matter_code, mm.material_code, m.name, mm.original, mm.count, mm.source, mm.blank_form, mm.sample
FROM matter_materials mm JOIN materials m ON m.code = mm.material_code
ORDER BY mm.matter_code, mm.position;

-- name: ChainDescriptionSet :exec
UPDATE chains SET description = @description WHERE code = @code;

-- name: ChainDescriptions :many
SELECT code, description FROM chains ORDER BY code;

-- name: MaterialList :many
SELECT code, name FROM materials ORDER BY code;
