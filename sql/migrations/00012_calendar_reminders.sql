-- +goose Up
-- The yearly reminder to import the next holiday notice (package
-- cases/deadlines): from 1 November of the last year the calendar covers,
-- the administrators and the county's supervisors get a notice asking for
-- the next year's 国务院办公厅节假日安排. One row per last covered year,
-- written in the transaction that creates the notices, so the reminder
-- goes out once however many servers scan.
CREATE TABLE calendar_reminders (
    year    integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    sent_at timestamptz NOT NULL
);

ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue', 'supervise', 'calendar'));

-- +goose Down
DELETE FROM notices WHERE kind = 'calendar';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue', 'supervise'));
DROP TABLE calendar_reminders;
