-- +goose Up
-- The yearly reminder to import the next holiday notice (package
-- cases/deadlines): from 1 November of the last year the calendar covers,
-- the administrators and the county's supervisors get a notice asking for
-- the next year's 国务院办公厅节假日安排. One row per last covered year and
-- recipient, written in the transaction that creates the notice, so each
-- gets it once however many servers scan (and one appointed later still
-- gets it).
CREATE TABLE calendar_reminders (
    year      integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    recipient text NOT NULL,
    sent_at   timestamptz NOT NULL,
    PRIMARY KEY (year, recipient)
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
