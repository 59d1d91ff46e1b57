-- +goose Up
-- Partners are the other government systems daiban talks to: the 12345
-- hotline platform, the province's SMS gateway, a provincial platform. Each
-- holds one API key, shown once when made: only its SHA-256 is kept for the
-- bearer check, and the key itself sealed (AES-GCM, policies/pii) because
-- it is also the HMAC secret both sides sign requests with.
CREATE TABLE partners (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    kind        text NOT NULL CHECK (kind IN ('hotline', 'sms', 'platform')),
    webhook_url text NOT NULL DEFAULT '',
    key_prefix  text NOT NULL UNIQUE,
    key_hash    bytea NOT NULL,
    key_enc     bytea NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- The applicant notification outbox: one row per (case, event), written in
-- the transaction of the change it tells about. partner_id names the
-- partner a hotline reply goes to; applicant texts go to the active SMS
-- partner (the log when there is none). status: pending (a River job
-- delivers it), delivered, dead (out of attempts: an administrator resends).
CREATE TABLE notifications (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    event        text NOT NULL,
    event_key    text NOT NULL,
    partner_id   bigint REFERENCES partners (id),
    sent_via     bigint REFERENCES partners (id), -- the partner of the last attempt
    data         jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'skipped')),
    round        integer NOT NULL DEFAULT 1,
    queued_round integer NOT NULL DEFAULT 0,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at timestamptz,
    UNIQUE (case_id, event_key)
);
CREATE INDEX notifications_pending_idx ON notifications (id) WHERE status = 'pending';
CREATE INDEX notifications_partner_idx ON notifications (partner_id, status);

-- The unique row a delivery job writes in its own transaction: River runs
-- a job at least once, this makes the delivery's effect happen once.
CREATE TABLE notification_deliveries (
    notification_id bigint PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    partner_id      bigint REFERENCES partners (id),
    delivered_at    timestamptz NOT NULL DEFAULT now()
);

-- Applicants who said at intake that they want no texts.
CREATE TABLE notification_optouts (
    case_id bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE
);

-- 12345 work orders, one per (partner, order number): a repeated delivery
-- returns the stored first answer.
CREATE TABLE hotline_orders (
    id                bigserial PRIMARY KEY,
    partner_id        bigint NOT NULL REFERENCES partners (id),
    order_no          text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('request', 'complaint')),
    case_id           bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    rectification_id  bigint REFERENCES rectifications (id) ON DELETE CASCADE,
    reply_due         date NOT NULL,
    status            integer NOT NULL,
    response          bytea NOT NULL, -- the first answer, byte for byte
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partner_id, order_no)
);
CREATE INDEX hotline_orders_case_idx ON hotline_orders (case_id);

-- A rectification may come from a 12345 complaint rather than a rating.
ALTER TABLE rectifications ADD COLUMN source text NOT NULL DEFAULT 'rating' CHECK (source IN ('rating', 'hotline'));

-- A 12345 work order may name no matter: such a case (channel hotline)
-- has neither a matter nor a chain until the agent knows more.
-- +goose StatementBegin
DO $$
DECLARE c text;
BEGIN
    SELECT conname INTO c FROM pg_constraint
    WHERE conrelid = 'cases'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%matter_code IS NULL%chain_code IS NULL%';
    EXECUTE format('ALTER TABLE cases DROP CONSTRAINT %I', c);
END $$;
-- +goose StatementEnd
ALTER TABLE cases ADD CONSTRAINT cases_matter_or_chain CHECK (
    (matter_code IS NULL) <> (chain_code IS NULL)
    OR (channel = 'hotline' AND matter_code IS NULL AND chain_code IS NULL));

-- The township's supervisors hear of a 12345 complaint as a notice.
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue', 'supervise', 'calendar', 'hotline_complaint'));

GRANT SELECT, INSERT, UPDATE ON partners, notifications, notification_optouts, hotline_orders TO daiban_app;
GRANT SELECT, INSERT ON notification_deliveries TO daiban_app;
GRANT USAGE ON SEQUENCE partners_id_seq, notifications_id_seq, hotline_orders_id_seq TO daiban_app;

-- +goose Down
DELETE FROM notices WHERE kind = 'hotline_complaint';
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check
    CHECK (kind IN ('warn_3', 'warn_1', 'overdue', 'reply_overdue', 'supervise', 'calendar'));
ALTER TABLE cases DROP CONSTRAINT cases_matter_or_chain;
ALTER TABLE cases ADD CONSTRAINT cases_check CHECK ((matter_code IS NULL) <> (chain_code IS NULL));
ALTER TABLE rectifications DROP COLUMN source;
DROP TABLE hotline_orders;
DROP TABLE notification_optouts;
DROP TABLE notification_deliveries;
DROP TABLE notifications;
DROP TABLE partners;
