-- name: NotificationInsert :exec
-- An applicant notification, unless the applicant opted out at intake.
-- Written with the change it tells about (in a case action's write batch:
-- a plain statement, no answer needed).
INSERT INTO notifications (case_id, event, event_key, data)
SELECT @case_id, @event::text, @event_key::text, @data::jsonb
WHERE NOT EXISTS (SELECT 1 FROM notification_optouts o WHERE o.case_id = @case_id)
ON CONFLICT (case_id, event_key) DO NOTHING;

-- name: NotificationInsertHotline :exec
-- The reply to each 12345 order of a kind about the case, to the partner
-- that sent it.
INSERT INTO notifications (case_id, event, event_key, partner_id, data)
SELECT h.case_id, @event::text, @event_key::text || ':' || h.id, h.partner_id,
       @data::jsonb || jsonb_build_object('order_no', h.order_no, 'kind', h.kind)
FROM hotline_orders h
WHERE h.case_id = @case_id AND h.kind = @kind::text
ON CONFLICT (case_id, event_key) DO NOTHING;

-- name: NotificationOptOut :exec
INSERT INTO notification_optouts (case_id) VALUES ($1) ON CONFLICT DO NOTHING;

-- name: NotificationOptedOut :one
SELECT EXISTS (SELECT 1 FROM notification_optouts WHERE case_id = $1);

-- name: NotificationsToQueue :many
-- Pending notifications whose current round has no job yet.
SELECT id, round FROM notifications
WHERE status = 'pending' AND queued_round < round
ORDER BY id
LIMIT 200
FOR UPDATE SKIP LOCKED;

-- name: NotificationQueued :exec
UPDATE notifications SET queued_round = @round WHERE id = @id;

-- name: NotificationForDelivery :one
SELECT n.*, c.number, c.tracking_code, c.region, c.title, c.state, c.due_date, c.applicant_name, c.applicant_phone_enc
FROM notifications n JOIN cases c ON c.id = n.case_id
WHERE n.id = $1
FOR UPDATE OF n;

-- name: NotificationDelivered :exec
UPDATE notifications SET status = 'delivered', attempts = attempts + 1, delivered_at = @at, last_attempt_at = @at, last_error = '',
       sent_via = sqlc.narg(sent_via)
WHERE id = @id;

-- name: NotificationDeliveryInsert :exec
INSERT INTO notification_deliveries (notification_id, partner_id, delivered_at) VALUES (@notification_id, @partner_id, @delivered_at);

-- name: NotificationFailed :exec
UPDATE notifications SET attempts = attempts + 1, last_attempt_at = @at, last_error = @last_error,
       status = CASE WHEN @dead::boolean THEN 'dead' ELSE status END, sent_via = sqlc.narg(sent_via)
WHERE id = @id;

-- name: NotificationSkipped :exec
UPDATE notifications SET status = 'skipped', last_attempt_at = @at WHERE id = @id;

-- name: NotificationResend :one
-- An administrator sends a dead letter again: a new round, a new job.
UPDATE notifications SET status = 'pending', round = round + 1, last_error = ''
WHERE id = $1 AND status = 'dead'
RETURNING id;

-- name: NotificationsDead :many
SELECT n.id, n.case_id, n.event, n.attempts, n.last_error, n.last_attempt_at, n.partner_id, c.number
FROM notifications n JOIN cases c ON c.id = n.case_id
WHERE n.status = 'dead'
ORDER BY n.id DESC
LIMIT 200;

-- name: NotificationsOfCase :many
SELECT id, event, event_key, status, attempts, created_at, delivered_at FROM notifications WHERE case_id = $1 ORDER BY id;

-- name: HotlineOrderGet :one
SELECT * FROM hotline_orders WHERE partner_id = $1 AND order_no = $2;

-- name: HotlineOrderInsert :exec
INSERT INTO hotline_orders (partner_id, order_no, kind, case_id, rectification_id, reply_due, status, response)
VALUES (@partner_id, @order_no, @kind, @case_id, @rectification_id, @reply_due, @status, @response);

-- name: HotlineOrdersOfCase :many
SELECT * FROM hotline_orders WHERE case_id = $1 ORDER BY id;

-- name: HotlineLock :exec
-- Serializes deliveries of one order number (a retry racing the first).
SELECT pg_advisory_xact_lock(hashtextextended(@key::text, 16));

-- name: CaseByRef :one
SELECT id, number, region, state FROM cases WHERE number = $1 OR tracking_code = upper($1);

-- name: RectificationOpenHotline :one
-- A 12345 complaint opens the case's rectification, or opens it again
-- (a rectified one) with the hotline's reply deadline.
INSERT INTO rectifications (case_id, rating, comment, due_date, opened_at, source)
VALUES (@case_id, 0, @comment, @due_date, @opened_at, 'hotline')
ON CONFLICT (case_id) DO UPDATE SET status = 'open', due_date = LEAST(CASE WHEN rectifications.status = 'open' THEN rectifications.due_date END, EXCLUDED.due_date),
    comment = EXCLUDED.comment, closed_at = NULL, result = NULL, source = 'hotline', opened_at = EXCLUDED.opened_at
RETURNING id;

-- name: NotificationStatus :one
SELECT status FROM notifications WHERE id = $1;
