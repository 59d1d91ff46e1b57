-- name: UserCreate :one
INSERT INTO users (username, name, role, region, password_hash)
VALUES (@username, @name, @role, @region, @password_hash)
RETURNING *;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE username = $1;

-- name: UserList :many
SELECT * FROM users
WHERE left(region, length(@scope::text)) = @scope::text
ORDER BY region, username;

-- name: UserGrants :many
SELECT username, role, region FROM users WHERE NOT disabled ORDER BY id;

-- name: UserUpdate :one
UPDATE users SET
    name = coalesce(sqlc.narg(name), name),
    role = coalesce(sqlc.narg(role), role),
    region = coalesce(sqlc.narg(region), region),
    disabled = coalesce(sqlc.narg(disabled), disabled),
    password_hash = coalesce(sqlc.narg(password_hash), password_hash),
    updated_at = now()
WHERE username = @username
RETURNING *;

-- name: SessionCreate :exec
INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
VALUES (@token_hash, @user_id, @csrf_token, @expires_at);

-- name: SessionGet :one
SELECT sqlc.embed(sessions), sqlc.embed(users)
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = $1;

-- name: SessionRevoke :execrows
UPDATE sessions SET revoked_at = now()
WHERE token_hash = $1 AND revoked_at IS NULL;

-- name: SessionRevokeUser :exec
UPDATE sessions SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL;

-- name: SessionPurgeExpired :execrows
DELETE FROM sessions WHERE expires_at < now() - interval '7 days';

-- Sign-in throttle (policies/users/throttle.go). An attempt takes both
-- locks, reads the failures, and records itself as a failure before the
-- password is checked; a success removes the pair's failures again.

-- name: LoginLockUsername :exec
SELECT pg_advisory_xact_lock(hashtextextended('daiban.login.user:' || @username::text, 0));

-- name: LoginLockAddress :exec
SELECT pg_advisory_xact_lock(hashtextextended('daiban.login.addr:' || @address::text, 0));

-- name: LoginKnownAddress :one
SELECT EXISTS (
    SELECT 1 FROM login_known_addresses
    WHERE username = @username AND address = @address AND last_at > @since
)::bool;

-- name: LoginFailureState :one
-- The failures that count against an attempt and the latest of each kind:
-- of the username (from this address only when pair_only), and of the
-- address (unless pair_only).
SELECT
    count(*) FILTER (WHERE username = @username AND at > @user_since
        AND (address = @address OR NOT @pair_only::bool))::int AS by_username,
    coalesce(max(at) FILTER (WHERE username = @username AND at > @user_since
        AND (address = @address OR NOT @pair_only::bool)), @user_since)::timestamptz AS last_username,
    count(*) FILTER (WHERE address = @address AND at > @address_since AND NOT @pair_only::bool)::int AS by_address,
    coalesce(max(at) FILTER (WHERE address = @address AND at > @address_since AND NOT @pair_only::bool), @address_since)::timestamptz AS last_address
FROM login_failures
WHERE at > least(@user_since::timestamptz, @address_since::timestamptz) AND (username = @username OR address = @address);

-- name: LoginFailureRecord :exec
INSERT INTO login_failures (username, address, at) VALUES (@username, @address, @at);

-- name: LoginFailureClearPair :exec
DELETE FROM login_failures WHERE username = @username AND address = @address;

-- name: LoginKnownAddressSet :exec
INSERT INTO login_known_addresses (username, address, last_at) VALUES (@username, @address, @at)
ON CONFLICT (username, address) DO UPDATE SET last_at = excluded.last_at;

-- name: LoginFailurePurge :execrows
DELETE FROM login_failures WHERE at < @before;

-- name: LoginKnownAddressPurge :execrows
DELETE FROM login_known_addresses WHERE last_at < @before;

-- name: UserGetForUpdate :one
SELECT * FROM users WHERE username = $1 FOR UPDATE;
