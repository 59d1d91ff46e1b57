-- +goose Up
-- The working-day calendar as data: the days the State Council holiday
-- notices list (off: a day off that would otherwise be worked, work: a
-- make-up working weekend, 调休) and the years whose notice is loaded. Days
-- not listed follow the plain rule (Monday to Friday work). Seeded from the
-- calendar built into the binary at first start; `daiban calendar import`
-- replaces the years a new file covers, in one transaction.
CREATE TABLE calendar_years (
    year        integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    imported_at timestamptz NOT NULL DEFAULT now(),
    source      text NOT NULL DEFAULT ''
);

CREATE TABLE calendar_days (
    day  date PRIMARY KEY,
    year integer NOT NULL REFERENCES calendar_years (year) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('off', 'work')),
    name text NOT NULL CHECK (name <> ''),
    CHECK (extract(year FROM day)::integer = year)
);

-- One row. Every import bumps version (and NOTIFYs daiban_calendar); every
-- server reloads its calendar when the version it holds is older. 0 means
-- "never loaded": the first start seeds the built-in calendar.
CREATE TABLE calendar_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO calendar_state (id, version) VALUES (true, 0);

-- One row per deadline notice fired: a case, a level and the deadline it
-- was fired for (the due_date, or the escalation's reply_due). The notice
-- rows and their ledger entries are written in the same transaction as this
-- row, so the primary key makes each notice exactly once however many
-- servers scan and however often a job is retried.
CREATE TABLE deadline_alerts (
    case_id  bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    level    text NOT NULL CHECK (level IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue')),
    deadline date NOT NULL,
    fired_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, level, deadline)
);

-- The notice outbox: what each staff user sees in the UI (read/unread), and
-- what the sender (log, SMS gateway) delivers once (sent_at).
CREATE TABLE notices (
    id           bigserial PRIMARY KEY,
    recipient    text NOT NULL,
    case_id      bigint REFERENCES cases (id) ON DELETE CASCADE,
    region       text NOT NULL DEFAULT '',
    kind         text NOT NULL CHECK (kind IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue', 'supervise')),
    deadline     date,
    title        text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    read_at      timestamptz,
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    ledger_entry bigint
);
CREATE INDEX notices_recipient_idx ON notices (recipient, id DESC);
CREATE INDEX notices_unsent_idx ON notices (id) WHERE sent_at IS NULL;
-- A second line of defence behind deadline_alerts: one deadline notice per
-- case, level, deadline and recipient.
CREATE UNIQUE INDEX notices_deadline_once_idx ON notices (case_id, kind, deadline, recipient)
    WHERE kind <> 'supervise';

CREATE INDEX rectifications_open_idx ON rectifications (due_date) WHERE status = 'open';
CREATE INDEX escalations_open_due_idx ON escalations (reply_due) WHERE replied_at IS NULL;

-- +goose Down
DROP INDEX escalations_open_due_idx;
DROP INDEX rectifications_open_idx;
DROP TABLE notices, deadline_alerts, calendar_state, calendar_days, calendar_years;
