-- +goose Up
-- What the seal of a document says (PAdES): the seal certificate's serial,
-- and its timestamp — 'stamped' (an RFC 3161 signature timestamp, or a
-- document timestamp added later) or 'awaiting' (sealed while the TSA did
-- not answer; a job adds a document timestamp). A document timestamp makes
-- a new file: stamped_sha256 is its SHA-256 (the ledger records both).
ALTER TABLE documents
    ADD COLUMN seal_serial      text,
    ADD COLUMN timestamp_status text CHECK (timestamp_status IN ('stamped', 'awaiting')),
    ADD COLUMN timestamped_at   timestamptz,
    ADD COLUMN tsa              text,
    ADD COLUMN stamped_sha256   bytea UNIQUE;
CREATE INDEX documents_awaiting_timestamp_idx ON documents (id) WHERE timestamp_status = 'awaiting';

-- +goose Down
DROP INDEX documents_awaiting_timestamp_idx;
ALTER TABLE documents
    DROP COLUMN seal_serial,
    DROP COLUMN timestamp_status,
    DROP COLUMN timestamped_at,
    DROP COLUMN tsa,
    DROP COLUMN stamped_sha256;
