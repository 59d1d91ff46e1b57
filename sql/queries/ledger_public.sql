-- The public ledger (issue 13): commitment keys and readable values of
-- case entries, cosigned checkpoints, entry bundles of the tiles. Package
-- ledger.

-- name: LedgerCaseKeyInsert :exec
-- A case's commitment key, made on first use; a concurrent first use keeps
-- the key that was inserted first.
INSERT INTO ledger_case_keys (case_id, key_enc) VALUES (@case_id, @key_enc)
ON CONFLICT (case_id) DO NOTHING;

-- name: LedgerCaseKey :one
SELECT key_enc FROM ledger_case_keys WHERE case_id = $1;

-- name: LedgerOpeningsInsert :exec
INSERT INTO ledger_openings (case_id, commitment, value)
-- (two unnests in one select list go in step)
SELECT @case_id::bigint, unnest(@commitments::text[]), unnest(@vals::text[])
ON CONFLICT DO NOTHING;

-- name: LedgerOpenings :many
SELECT commitment, value FROM ledger_openings WHERE case_id = $1;

-- name: LedgerCosignedInsert :exec
INSERT INTO ledger_cosigned (size, note) VALUES (@size, @note);

-- name: LedgerCosignedLatest :one
SELECT note, at FROM ledger_cosigned ORDER BY size DESC, id DESC LIMIT 1;

-- name: LedgerBundle :many
-- The entries of leaves [from_index, to_index), in leaf order.
SELECT e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_leaves l JOIN ledger_entries e ON e.id = l.entry_id
WHERE l.leaf_index >= @from_index AND l.leaf_index < @to_index
ORDER BY l.leaf_index;
