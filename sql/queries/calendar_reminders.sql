-- The yearly reminder to import the next holiday notice (package
-- cases/deadlines).

-- name: CalendarReminderPending :many
-- The administrators and the supervisors at county level or above who
-- have not had the reminder for this last covered year.
SELECT u.username, u.region FROM users u
WHERE NOT u.disabled AND (u.role = 'admin' OR (u.role = 'supervisor' AND char_length(u.region) <= 6))
  AND NOT EXISTS (SELECT 1 FROM calendar_reminders r WHERE r.year = @year AND r.recipient = u.username)
ORDER BY u.username;

-- name: CalendarReminderInsert :one
-- Claims the reminder of one recipient; no row when it was sent.
INSERT INTO calendar_reminders (year, recipient, sent_at)
VALUES (@year, @recipient, @sent_at)
ON CONFLICT DO NOTHING
RETURNING year;
