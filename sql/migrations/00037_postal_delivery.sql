-- +goose Up
-- Results by post (证照到付): the delivery chosen at results, and for post
-- the carrier, waybill and the address (sealed personal data), until the
-- applicant or the carrier's proof confirms it.
CREATE TABLE case_deliveries (
    case_id      bigint PRIMARY KEY REFERENCES cases (id),
    method       text NOT NULL CHECK (method IN ('in_person', 'post')),
    carrier      text NOT NULL DEFAULT '',
    waybill      text NOT NULL DEFAULT '',
    address_enc  bytea,
    -- The applicant's one-time code to confirm receipt on /track, hashed.
    otp_hash     bytea,
    otp_tries    integer NOT NULL DEFAULT 0,
    dispatched_at timestamptz,
    confirmed_at timestamptz,
    confirmed_by text NOT NULL DEFAULT '' CHECK (confirmed_by IN ('', 'applicant', 'carrier')),
    proof_png    bytea,
    updated_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE case_deliveries;
