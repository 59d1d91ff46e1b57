-- +goose Up

-- Personal numbers leave the cases table in clear (issue 19). The server
-- seals them with AES-256-GCM under the key in DAIBAN_KEYS/pii.key and
-- finds them by a keyed blind index (HMAC-SHA-256); neither can be made in
-- SQL. So this migration moves the clear values aside into
-- cases_pii_pending, and the server, at its first start after it, seals
-- them into the new columns in batches and deletes each pending row in the
-- same transaction (cases.Service.SealPending). An empty pending table is
-- the record that the conversion is done.
CREATE TABLE cases_pii_pending (
    case_id   bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    id_number text NOT NULL,
    phone     text NOT NULL
);
-- The server (as daiban_app) seals and deletes them; say so even where the
-- default privileges of 00002 do not reach (another owner).
GRANT SELECT, DELETE ON cases_pii_pending TO daiban_app;
INSERT INTO cases_pii_pending (case_id, id_number, phone)
SELECT id, applicant_id_number, applicant_phone FROM cases;

DROP INDEX cases_phone_idx;
ALTER TABLE cases
    DROP COLUMN applicant_id_number,
    DROP COLUMN applicant_phone,
    -- key version (4 bytes) || nonce (12) || ciphertext and tag; the
    -- associated data names the column and the case number.
    ADD COLUMN applicant_id_number_enc bytea,
    ADD COLUMN applicant_phone_enc bytea,
    -- HMAC-SHA-256 of the normalised number under a key derived for
    -- indexing: exact search without the clear value.
    ADD COLUMN applicant_id_number_bidx bytea,
    ADD COLUMN applicant_phone_bidx bytea;
CREATE INDEX cases_id_number_bidx_idx ON cases (applicant_id_number_bidx);
CREATE INDEX cases_phone_bidx_idx ON cases (applicant_phone_bidx);

-- Stored idempotent responses may show a case with its applicant's numbers
-- in full; from now on they are sealed too. The ones stored before are
-- dropped (a retry across the upgrade is answered afresh).
DELETE FROM idempotency_keys;

-- +goose Down
-- The clear numbers cannot be recovered in SQL: going back needs the key.
-- +goose StatementBegin
DO $$
BEGIN
    RAISE EXCEPTION '00009_pii cannot be undone in SQL: the numbers are sealed with the key in DAIBAN_KEYS/pii.key';
END
$$;
-- +goose StatementEnd
