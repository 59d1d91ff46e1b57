-- Sealing personal numbers: the conversion after migration 00009 and key
-- rotation (package cases, file pii.go).

-- name: CasePIIPending :many
-- A batch of cases whose numbers still wait in clear, locked so that
-- servers starting together share the work.
SELECT p.case_id, c.number, p.id_number, p.phone
FROM cases_pii_pending p
JOIN cases c ON c.id = p.case_id
ORDER BY p.case_id
LIMIT @lim
FOR UPDATE OF p SKIP LOCKED;

-- name: CasePIISeal :exec
-- Stores a batch of sealed numbers and their indexes, and removes the
-- clear copies the batch came from, in one statement.
WITH u AS (
UPDATE cases c SET
    applicant_id_number_enc = v.id_enc,
    applicant_phone_enc = v.phone_enc,
    applicant_id_number_bidx = v.id_idx,
    applicant_phone_bidx = v.phone_idx
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@id_enc::bytea[]) AS id_enc, unnest(@phone_enc::bytea[]) AS phone_enc,
             unnest(@id_idx::bytea[]) AS id_idx, unnest(@phone_idx::bytea[]) AS phone_idx) v
WHERE c.id = v.id
RETURNING c.id
)
DELETE FROM cases_pii_pending WHERE case_id IN (SELECT id FROM u);

-- name: CasePIIStale :many
-- A batch of cases, after @after in id order, with a number sealed under
-- another key version than @prefix names.
SELECT id, number, applicant_id_number_enc, applicant_phone_enc
FROM cases
WHERE id > @after
  AND (substring(applicant_id_number_enc FROM 1 FOR 4) <> @prefix::bytea
       OR substring(applicant_phone_enc FROM 1 FOR 4) <> @prefix::bytea)
ORDER BY id
LIMIT @lim;

-- name: CasePIIReseal :exec
-- Stores re-sealed numbers and fresh indexes; a row is changed only if it
-- still holds what was read (nothing else writes these columns, but a
-- second rotation could).
UPDATE cases c SET
    applicant_id_number_enc = v.id_enc,
    applicant_phone_enc = v.phone_enc,
    applicant_id_number_bidx = v.id_idx,
    applicant_phone_bidx = v.phone_idx
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@old_id_enc::bytea[]) AS old_id_enc, unnest(@id_enc::bytea[]) AS id_enc,
             unnest(@phone_enc::bytea[]) AS phone_enc, unnest(@id_idx::bytea[]) AS id_idx, unnest(@phone_idx::bytea[]) AS phone_idx) v
WHERE c.id = v.id AND c.applicant_id_number_enc = v.old_id_enc;

-- name: IdempotencyStale :many
-- Stored responses, after (@after_user, @after_key), sealed under another
-- key version than @prefix names.
SELECT username, key, response
FROM idempotency_keys
WHERE (username, key) > (@after_user::text, @after_key::text)
  AND response IS NOT NULL
  AND substring(response FROM 1 FOR 4) <> @prefix::bytea
ORDER BY username, key
LIMIT @lim;

-- name: IdempotencyReseal :exec
UPDATE idempotency_keys SET response = @response
WHERE username = @username AND key = @key;
