-- Deadlines of cases: the clock derived from the ledger, due dates,
-- rectifications and the supervision lists (package cases/deadlines).

-- name: CaseClockEntries :many
-- The case events the clock is derived from, in ledger order.
SELECT case_id, at, type, payload FROM ledger_entries
WHERE case_id = ANY(@case_ids::bigint[]) AND type LIKE 'case.%'
ORDER BY case_id, id;

-- name: CasesOpenForUpdate :many
-- Every open case, locked, for a calendar change. Cases not yet delegated
-- are locked too: one being signed right now is then recomputed after it
-- commits.
SELECT * FROM cases
WHERE state NOT IN ('closed', 'declined', 'terminated')
ORDER BY id
FOR UPDATE;

-- name: CaseSetDueDate :one
-- A due date recomputed outside an action (a new calendar). The version
-- moves on, so an action prepared against the old row fails as
-- version_conflict instead of writing the old due date back.
UPDATE cases SET due_date = @due_date, version = version + 1, updated_at = @now
WHERE id = @id
RETURNING version;

-- name: RectificationForUpdate :one
SELECT * FROM rectifications WHERE case_id = $1 FOR UPDATE;

-- name: RectificationClose :exec
UPDATE rectifications SET status = 'rectified', closed_at = @closed_at, result = @result
WHERE id = @id AND status = 'open';

-- name: SupervisionRunning :many
-- Cases whose clock runs, due by @until, inside the scope.
SELECT id, number, region, title, state, assignee, created_by, due_date, limit_days,
       delegated_at, applicant_kind, applicant_name, applicant_id_number_enc
FROM cases
WHERE region >= @scope::text AND region < @scope::text || ':'
  AND state IN ('delegated', 'processing', 'ready_for_handover')
  AND due_date IS NOT NULL AND due_date <= @until::date
ORDER BY due_date, id
LIMIT @lim;

-- name: SupervisionEscalated :many
-- Open cases waiting on a higher authority, inside the scope.
SELECT c.id, c.number, c.region, c.title, c.state, c.assignee, c.created_by, c.due_date,
       c.applicant_kind, c.applicant_name, c.applicant_id_number_enc,
       e.level, e.authority, e.tracker, e.reply_due, e.created_at AS escalated_at
FROM escalations e
JOIN cases c ON c.id = e.case_id
WHERE e.replied_at IS NULL
  AND c.state NOT IN ('closed', 'declined', 'terminated')
  AND c.region >= @scope::text AND c.region < @scope::text || ':'
ORDER BY e.reply_due, c.id
LIMIT @lim;

-- name: SupervisionRectifications :many
-- Open 差评 rectifications inside the scope.
SELECT c.id, c.number, c.region, c.title, c.state, c.assignee, c.created_by,
       c.applicant_kind, c.applicant_name, c.applicant_id_number_enc,
       r.rating, r.comment, r.status, r.opened_at, r.due_date AS rectification_due
FROM rectifications r
JOIN cases c ON c.id = r.case_id
WHERE r.status = 'open'
  AND c.region >= @scope::text AND c.region < @scope::text || ':'
ORDER BY r.due_date, c.id
LIMIT @lim;

-- name: RectificationsOpenForUpdate :many
SELECT r.id, r.case_id, r.opened_at, r.due_date, c.number, c.region
FROM rectifications r
JOIN cases c ON c.id = r.case_id
WHERE r.status = 'open'
ORDER BY r.id
FOR UPDATE OF r;

-- name: RectificationSetDue :exec
UPDATE rectifications SET due_date = @due_date WHERE id = @id;
