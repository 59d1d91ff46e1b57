-- Deadline notices and the notice outbox (package cases/deadlines).

-- name: DeadlineCandidates :many
-- Running cases that reached a warning or breach level (3 working days
-- left: due_date <= @d3; 1 left: <= @d1; breached: < @today) and have no
-- notice at that level for this due date yet.
SELECT c.id, c.due_date, lv.level::text AS level
FROM cases c
CROSS JOIN LATERAL (SELECT CASE
        WHEN c.due_date < @today::date THEN 'overdue'
        WHEN c.due_date <= @d1::date THEN 'warn_1'
        ELSE 'warn_3' END AS level) lv
WHERE c.state IN ('delegated', 'processing', 'ready_for_handover')
  AND c.due_date IS NOT NULL AND c.due_date <= @d3::date
  AND NOT EXISTS (SELECT 1 FROM deadline_alerts a
                  WHERE a.case_id = c.id AND a.level = lv.level AND a.deadline = c.due_date)
ORDER BY c.due_date, c.id
LIMIT @lim;

-- name: ReplyOverdueCandidates :many
-- Escalations whose reply_due has passed with no reply and no notice yet.
SELECT e.case_id, e.reply_due
FROM escalations e
JOIN cases c ON c.id = e.case_id
WHERE e.replied_at IS NULL AND c.state = 'escalated' AND e.reply_due < @today::date
  AND NOT EXISTS (SELECT 1 FROM deadline_alerts a
                  WHERE a.case_id = e.case_id AND a.level = 'reply_overdue' AND a.deadline = e.reply_due)
ORDER BY e.reply_due, e.case_id
LIMIT @lim;

-- name: CaseForNotice :one
-- The case, share-locked: no action changes it until the notice commits.
SELECT * FROM cases WHERE id = $1 FOR SHARE;

-- name: OpenEscalation :one
SELECT * FROM escalations WHERE case_id = $1 AND replied_at IS NULL;

-- name: AlertInsert :one
INSERT INTO deadline_alerts (case_id, level, deadline, fired_at)
VALUES (@case_id, @level, @deadline, @fired_at)
ON CONFLICT DO NOTHING
RETURNING case_id;

-- name: SupervisorsIn :many
SELECT username FROM users
WHERE role = 'supervisor' AND region = @region AND NOT disabled
ORDER BY username;

-- name: UserEnabled :one
SELECT EXISTS (SELECT 1 FROM users WHERE username = $1 AND NOT disabled);

-- name: NoticeInsert :one
INSERT INTO notices (recipient, case_id, region, kind, deadline, title, body, created_at)
VALUES (@recipient, sqlc.narg(case_id), @region, @kind, sqlc.narg(deadline), @title, @body, @created_at)
RETURNING id;

-- name: NoticeSetLedgerEntry :exec
UPDATE notices SET ledger_entry = @ledger_entry WHERE id = @id;

-- name: NoticeList :many
SELECT n.*, coalesce(c.number, '')::text AS case_number
FROM notices n
LEFT JOIN cases c ON c.id = n.case_id
WHERE n.recipient = @recipient
  AND (NOT @unread_only::boolean OR n.read_at IS NULL)
  AND (sqlc.narg(before)::bigint IS NULL OR n.id < sqlc.narg(before)::bigint)
ORDER BY n.id DESC
LIMIT @lim;

-- name: NoticeUnreadCount :one
SELECT count(*)::int FROM notices WHERE recipient = $1 AND read_at IS NULL;

-- name: NoticeMarkRead :one
UPDATE notices SET read_at = coalesce(read_at, @now::timestamptz)
WHERE id = @id AND recipient = @recipient
RETURNING id;

-- name: NoticeMarkAllRead :execrows
UPDATE notices SET read_at = @now::timestamptz
WHERE recipient = @recipient AND read_at IS NULL;

-- name: NoticeGet :one
SELECT n.*, coalesce(c.number, '')::text AS case_number
FROM notices n
LEFT JOIN cases c ON c.id = n.case_id
WHERE n.id = $1;

-- name: NoticeNextUnsent :one
-- The next notice to deliver; a notice another server is delivering right
-- now is skipped.
SELECT n.*, coalesce(c.number, '')::text AS case_number
FROM notices n
LEFT JOIN cases c ON c.id = n.case_id
WHERE n.sent_at IS NULL AND n.attempts < @max_attempts AND n.id > @after
ORDER BY n.id
LIMIT 1
FOR UPDATE OF n SKIP LOCKED;

-- name: NoticeSent :exec
UPDATE notices SET sent_at = @sent_at, attempts = attempts + 1, last_error = NULL WHERE id = @id;

-- name: NoticeSendFailed :exec
UPDATE notices SET attempts = attempts + 1, last_error = @last_error WHERE id = @id;
