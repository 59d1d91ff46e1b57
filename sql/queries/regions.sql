-- name: RegionList :many
SELECT code, name, level, parent FROM regions ORDER BY code;

-- name: RegionGet :one
SELECT code, name, level, parent FROM regions WHERE code = $1;

-- name: RegionUpsert :exec
INSERT INTO regions (code, name, level, parent)
VALUES (@code, @name, @level, sqlc.narg(parent))
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level, parent = EXCLUDED.parent;
