-- +goose Up

-- The public ledger (issue 13). Published entries carry keyed commitments
-- instead of personal values: HMAC-SHA-256 under a key of the case's
-- applicant. The key (sealed with the pii key) and the readable values live
-- here, in ordinary tables, so erasing a person deletes them and leaves the
-- log, and every hash over it, as it was.
CREATE TABLE ledger_case_keys (
    case_id    bigint PRIMARY KEY REFERENCES cases (id),
    -- pii-sealed 32-byte HMAC key (field ledger_case_keys.key, row: case id)
    key_enc    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The readable value behind each commitment of a case's entries, for the
-- staff's timeline. Equal values of one field share one commitment.
CREATE TABLE ledger_openings (
    case_id    bigint NOT NULL REFERENCES cases (id),
    commitment text NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (case_id, commitment)
);

-- Checkpoints that carry the cosignatures of a quorum of witnesses: the
-- newest is published at /ledger/checkpoint. Insert-only, like the ledger.
-- One size may be cosigned again (the configured witnesses changed).
CREATE TABLE ledger_cosigned (
    id   bigserial PRIMARY KEY,
    size bigint NOT NULL,
    note text NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_cosigned_size_idx ON ledger_cosigned (size DESC, id DESC);
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_cosigned FROM daiban_app;
GRANT SELECT, INSERT ON ledger_cosigned TO daiban_app;
GRANT SELECT, INSERT, DELETE ON ledger_case_keys, ledger_openings TO daiban_app;

-- +goose Down
DROP TABLE ledger_cosigned;
DROP TABLE ledger_openings;
DROP TABLE ledger_case_keys;
