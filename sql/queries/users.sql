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

-- name: LoginFailureRecord :exec
INSERT INTO login_failures (username, address) VALUES (@username, @address);

-- name: LoginFailureCounts :one
SELECT
    count(*) FILTER (WHERE username = @username)::int AS by_username,
    count(*) FILTER (WHERE address = @address)::int AS by_address
FROM login_failures
WHERE at > @since AND (username = @username OR address = @address);

-- name: LoginFailureClear :exec
DELETE FROM login_failures WHERE username = @username;

-- name: LoginFailurePurge :execrows
DELETE FROM login_failures WHERE at < @before;
