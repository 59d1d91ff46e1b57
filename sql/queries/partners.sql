-- name: PartnerInsert :one
INSERT INTO partners (name, kind, webhook_url, key_prefix, key_hash, key_enc, created_by)
VALUES (@name, @kind, @webhook_url, @key_prefix, @key_hash, @key_enc, @created_by)
RETURNING *;

-- name: PartnerByPrefix :one
SELECT * FROM partners WHERE key_prefix = $1;

-- name: PartnerGet :one
SELECT * FROM partners WHERE id = $1;

-- name: PartnerByName :one
SELECT * FROM partners WHERE name = $1;

-- name: PartnerRevoke :one
UPDATE partners SET revoked_at = @revoked_at WHERE name = @name AND revoked_at IS NULL RETURNING *;

-- name: PartnerActiveOfKind :many
SELECT * FROM partners WHERE kind = $1 AND revoked_at IS NULL AND webhook_url <> '' ORDER BY id;

-- name: PartnerStats :many
-- Every partner with its delivery figures, for the administrator's page.
SELECT p.id, p.name, p.kind, p.webhook_url, p.key_prefix, p.created_at, p.revoked_at,
       coalesce((SELECT max(d.delivered_at) FROM notification_deliveries d WHERE d.partner_id = p.id), 'epoch')::timestamptz AS last_delivery,
       (SELECT coalesce(sum(n.attempts - CASE WHEN n.status = 'delivered' THEN 1 ELSE 0 END), 0) FROM notifications n WHERE coalesce(n.sent_via, n.partner_id) = p.id)::bigint AS failures,
       (SELECT count(*) FROM notifications n WHERE n.status = 'dead' AND coalesce(n.sent_via, n.partner_id) = p.id)::bigint AS dead
FROM partners p
ORDER BY p.id;

-- name: PartnerKeys :many
SELECT id, key_prefix, key_enc FROM partners ORDER BY id;

-- name: PartnerKeyReseal :exec
UPDATE partners SET key_enc = @key_enc WHERE id = @id;
