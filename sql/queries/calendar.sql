-- The working-day calendar (package calendar).

-- name: CalendarVersion :one
SELECT version FROM calendar_state WHERE id;

-- name: CalendarLockState :one
-- Serialises imports and the first-start seeding.
SELECT version FROM calendar_state WHERE id FOR UPDATE;

-- name: CalendarBump :one
UPDATE calendar_state SET version = version + 1, updated_at = now() WHERE id
RETURNING version;

-- name: CalendarDays :many
SELECT day, kind, name FROM calendar_days ORDER BY day;

-- name: CalendarYears :many
SELECT year, imported_at, source FROM calendar_years ORDER BY year;

-- name: CalendarDeleteYears :exec
DELETE FROM calendar_years WHERE year = ANY(@years::int[]);

-- name: CalendarInsertYear :exec
INSERT INTO calendar_years (year, source) VALUES (@year, @source);

-- name: CalendarInsertDays :exec
INSERT INTO calendar_days (day, year, kind, name)
SELECT t.d, extract(year FROM t.d)::integer, t.k, t.n
FROM (SELECT unnest(@days::text[])::date AS d, unnest(@kinds::text[]) AS k, unnest(@names::text[]) AS n) AS t;

-- name: CalendarNotify :exec
SELECT pg_notify('daiban_calendar', @version::text);
