-- name: CaseNextNumber :one
INSERT INTO case_counters (region, day, n) VALUES (@region, @day, 1)
ON CONFLICT (region, day) DO UPDATE SET n = case_counters.n + 1
RETURNING n;

-- name: CaseInsert :one
INSERT INTO cases (
    number, tracking_code, region, channel, matter_code, chain_code, title, matter_codes,
    complexity, limit_days, applicant_kind, applicant_name, applicant_id_number_enc,
    applicant_phone_enc, applicant_id_number_bidx, applicant_phone_bidx, summary, state, created_by, created_at, updated_at
) VALUES (
    @number, @tracking_code, @region, @channel, sqlc.narg(matter_code), sqlc.narg(chain_code), @title, @matter_codes,
    @complexity, @limit_days, @applicant_kind, @applicant_name, @applicant_id_number_enc,
    @applicant_phone_enc, @applicant_id_number_bidx, @applicant_phone_bidx, @summary, @state, @created_by, @now, @now
) RETURNING *;

-- name: CaseGet :one
SELECT * FROM cases WHERE id = $1;

-- name: CaseGetForUpdate :one
SELECT * FROM cases WHERE id = $1 FOR UPDATE;

-- name: CaseScope :one
SELECT region, created_by, assignee FROM cases WHERE id = $1;

-- name: CaseByTrackingCode :one
SELECT * FROM cases WHERE tracking_code = $1;

-- name: CaseEvents :many
SELECT id, at, actor, type, payload FROM ledger_entries WHERE case_id = $1 ORDER BY id;

-- name: CaseUpdate :exec
WITH u AS (
UPDATE cases SET
    state = @state,
    paused_from = sqlc.narg(paused_from),
    outcome = sqlc.narg(outcome),
    mode = sqlc.narg(mode),
    assignee = sqlc.narg(assignee),
    closed_at = sqlc.narg(closed_at),
    delegated_at = sqlc.narg(delegated_at),
    due_date = sqlc.narg(due_date),
    rating = sqlc.narg(rating),
    rating_comment = sqlc.narg(rating_comment),
    rated_at = sqlc.narg(rated_at),
    version = version + 1,
    updated_at = @now
WHERE id = @id AND version = @expected_version
RETURNING 1
)
SELECT daiban_expect_rows((SELECT count(*) FROM u), 1);

-- name: CaseUpdateRecorded :exec
-- CaseUpdate and the action's ledger entry in one statement: the entry is
-- written exactly when the guarded update is.
WITH u AS (
UPDATE cases SET
    state = @state,
    paused_from = sqlc.narg(paused_from),
    outcome = sqlc.narg(outcome),
    mode = sqlc.narg(mode),
    assignee = sqlc.narg(assignee),
    closed_at = sqlc.narg(closed_at),
    delegated_at = sqlc.narg(delegated_at),
    due_date = sqlc.narg(due_date),
    rating = sqlc.narg(rating),
    rating_comment = sqlc.narg(rating_comment),
    rated_at = sqlc.narg(rated_at),
    version = version + 1,
    updated_at = @now
WHERE cases.id = @id AND cases.version = @expected_version
RETURNING cases.id AS case_id
), e AS (
INSERT INTO ledger_entries (actor, case_id, region, type, payload)
SELECT @actor::text, u.case_id, @region::text, @type::text, @payload::bytea FROM u
RETURNING 1
)
SELECT daiban_expect_rows((SELECT count(*) FROM e), 1);

-- name: CaseList :many
SELECT * FROM cases
WHERE region >= @scope::text AND region < @scope::text || ':'
  AND (NOT @own_only::boolean OR created_by = @username::text OR assignee = @username::text)
  AND (sqlc.narg(state)::text IS NULL OR state = sqlc.narg(state)::text)
  AND (sqlc.narg(region)::text IS NULL OR (region >= sqlc.narg(region)::text AND region < sqlc.narg(region)::text || ':'))
  AND (sqlc.narg(matter)::text IS NULL OR matter_codes @> ARRAY[sqlc.narg(matter)::text])
  AND (sqlc.narg(handler)::text IS NULL OR assignee = sqlc.narg(handler)::text)
  AND (NOT @overdue::boolean OR (due_date < @today::date AND state IN ('delegated', 'processing', 'escalated', 'suspended', 'awaiting_materials', 'ready_for_handover')))
  AND (sqlc.narg(q)::text IS NULL
       OR (number >= sqlc.narg(q)::text AND number < sqlc.narg(q)::text || chr(1114111))
       OR (applicant_name >= sqlc.narg(q)::text AND applicant_name < sqlc.narg(q)::text || chr(1114111)))
  -- Exact search by blind index: the phone's (or ID number's) index under
  -- every key version, so a rotation in progress misses nothing.
  AND (sqlc.narg(phone_idx)::bytea[] IS NULL OR applicant_phone_bidx = ANY (sqlc.narg(phone_idx)::bytea[]))
  AND (sqlc.narg(id_number_idx)::bytea[] IS NULL OR applicant_id_number_bidx = ANY (sqlc.narg(id_number_idx)::bytea[]))
  AND (sqlc.narg(before)::bigint IS NULL OR id < sqlc.narg(before)::bigint)
ORDER BY id DESC
LIMIT @lim;

-- name: CaseMaterialInsert :exec
INSERT INTO case_materials (case_id, code, name, position, required_original, required_count)
VALUES (@case_id, @code, @name, @position, @required_original, @required_count);

-- name: CaseMaterials :many
SELECT * FROM case_materials WHERE case_id = $1 ORDER BY position;

-- name: CaseMaterialReview :execrows
UPDATE case_materials SET received = @received, original = @original, pages = @pages
WHERE case_id = @case_id AND code = @code;

-- name: CaseMaterialSetHolder :execrows
UPDATE case_materials SET holder = @holder WHERE case_id = @case_id AND code = @code;

-- name: CustodyInsert :one
INSERT INTO custody_moves (case_id, material_code, from_holder, to_holder, count, note, actor, at)
VALUES (@case_id, @material_code, @from_holder, @to_holder, @count, @note, @actor, @at)
RETURNING id;

-- name: CustodyMoves :many
SELECT * FROM custody_moves WHERE case_id = $1 ORDER BY id;

-- name: EscalationInsert :exec
INSERT INTO escalations (case_id, level, authority, tracker, reply_due, note, created_by, created_at)
VALUES (@case_id, @level, @authority, @tracker, @reply_due, @note, @created_by, @created_at);

-- name: EscalationReply :execrows
UPDATE escalations SET replied_at = @replied_at, outcome = @outcome, reply_note = @reply_note
WHERE case_id = @case_id AND replied_at IS NULL;

-- name: CaseEscalations :many
SELECT * FROM escalations WHERE case_id = $1 ORDER BY id;

-- name: HandoverItemInsert :exec
INSERT INTO handover_items (case_id, kind, name, number, material_code)
VALUES (@case_id, @kind, @name, @number, sqlc.narg(material_code));

-- name: HandoverItems :many
SELECT * FROM handover_items WHERE case_id = $1 ORDER BY id;

-- name: HandoverItemVerify :execrows
UPDATE handover_items SET verified = @verified WHERE case_id = @case_id AND id = @id;

-- name: RectificationInsert :exec
INSERT INTO rectifications (case_id, rating, comment, due_date, opened_at)
VALUES (@case_id, @rating, @comment, @due_date, @opened_at);

-- name: CaseRectification :one
SELECT * FROM rectifications WHERE case_id = $1;

-- name: IdempotencyClaim :one
INSERT INTO idempotency_keys (username, key, request_hash)
VALUES (@username, @key, @request_hash)
ON CONFLICT (username, key) DO NOTHING
RETURNING username;

-- name: IdempotencyGet :one
SELECT * FROM idempotency_keys WHERE username = @username AND key = @key;

-- name: IdempotencyStore :exec
UPDATE idempotency_keys SET status = @status, response = @response
WHERE username = @username AND key = @key;

-- name: UserExists :one
SELECT EXISTS (SELECT 1 FROM users WHERE username = $1 AND NOT disabled);

-- name: UserRole :one
SELECT role, region FROM users WHERE username = $1 AND NOT disabled;

-- name: CaseOpenDuplicates :many
-- Open cases of the same applicant (by the ID number's blind index, under
-- every key version) for any of the matters, or a matter sharing a 一件事
-- with one of them.
WITH related AS (
    SELECT unnest(@codes::text[]) AS code
    UNION
    SELECT cm2.matter_code
    FROM chain_matters cm1
    JOIN chain_matters cm2 ON cm2.chain_code = cm1.chain_code
    WHERE cm1.matter_code = ANY(@codes::text[])
)
SELECT c.id, c.number, c.title, c.state, c.region
FROM cases c
WHERE c.applicant_id_number_bidx = ANY(@idx::bytea[])
  AND c.state NOT IN ('closed', 'declined', 'terminated')
  AND c.matter_codes && ARRAY(SELECT code FROM related)
ORDER BY c.id
LIMIT 10;
