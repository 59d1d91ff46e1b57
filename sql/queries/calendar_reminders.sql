-- The yearly reminder to import the next holiday notice (package
-- cases/deadlines).

-- name: CalendarReminderInsert :one
-- Claims the reminder for a last covered year; no row when it was sent.
INSERT INTO calendar_reminders (year, sent_at)
VALUES (@year, @sent_at)
ON CONFLICT DO NOTHING
RETURNING year;

-- name: CalendarReminderRecipients :many
-- The administrators and the supervisors at county level or above.
SELECT username, region FROM users
WHERE NOT disabled AND (role = 'admin' OR (role = 'supervisor' AND char_length(region) <= 6))
ORDER BY username;
