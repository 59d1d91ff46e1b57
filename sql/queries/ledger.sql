-- The ledger (台账). Verification and the CSV export stream their rows and
-- live in package ledger; everything else is here.

-- name: LedgerAppend :one
INSERT INTO ledger_entries (actor, case_id, region, type, payload)
VALUES (@actor, sqlc.narg(case_id), @region, @type, @payload)
RETURNING id;

-- name: LedgerTryLock :one
SELECT pg_try_advisory_xact_lock(@key::bigint) AS locked;

-- name: LedgerSnapshotXmin :one
-- Every transaction with an xid below this has ended (the statement's
-- snapshot sees all of those that committed).
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin;

-- name: LedgerLatestCheckpoint :one
SELECT size, root, note, at, horizon::text AS horizon
FROM ledger_checkpoints
ORDER BY size DESC
LIMIT 1;

-- name: LedgerUnintegrated :many
SELECT e.id, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_entries e
WHERE e.xid >= sqlc.arg(horizon)::text::xid8
  AND e.id > sqlc.arg(after_id)::bigint
  AND NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE l.entry_id = e.id)
ORDER BY e.id
LIMIT sqlc.arg(max_rows)::int;

-- name: LedgerLeavesInsert :exec
INSERT INTO ledger_leaves (leaf_index, entry_id)
SELECT unnest(@leaf_indexes::bigint[]), unnest(@entry_ids::bigint[]);

-- name: LedgerHashesInsert :exec
INSERT INTO ledger_hashes (storage_index, hash)
SELECT unnest(@storage_indexes::bigint[]), unnest(@hashes::bytea[]);

-- name: LedgerHashes :many
SELECT storage_index, hash FROM ledger_hashes
WHERE storage_index = ANY(@storage_indexes::bigint[]);

-- name: LedgerCheckpointInsert :exec
INSERT INTO ledger_checkpoints (size, root, note, horizon)
VALUES (@size, @root, @note, sqlc.arg(horizon)::text::xid8);

-- name: LedgerCheckpoints :many
SELECT size, root, note FROM ledger_checkpoints ORDER BY size;

-- name: LedgerCaseEntries :many
SELECT coalesce(l.leaf_index, -1)::bigint AS leaf_index,
       e.id, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_entries e
LEFT JOIN ledger_leaves l ON l.entry_id = e.id
WHERE e.case_id = @case_id
ORDER BY e.id;

-- name: LedgerEntryByIndex :one
SELECT l.leaf_index, e.id, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_leaves l
JOIN ledger_entries e ON e.id = l.entry_id
WHERE l.leaf_index = @leaf_index;

-- name: LedgerEntryByID :one
SELECT coalesce(l.leaf_index, -1)::bigint AS leaf_index,
       e.id, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_entries e
LEFT JOIN ledger_leaves l ON l.entry_id = e.id
WHERE e.id = @id;

-- name: LedgerLeafCount :one
SELECT coalesce(max(leaf_index) + 1, 0)::bigint AS n FROM ledger_leaves;

-- name: LedgerRecord :exec
INSERT INTO ledger_entries (actor, case_id, region, type, payload)
VALUES (@actor, sqlc.narg(case_id), @region, @type, @payload);
