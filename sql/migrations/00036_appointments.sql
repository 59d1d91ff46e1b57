-- +goose Up
-- 网上预约: a township center's administrator opens half-day slots for
-- consultations; an applicant books one without an account.
CREATE TABLE appointment_slots (
    id        bigserial PRIMARY KEY,
    region    text COLLATE "C" NOT NULL REFERENCES regions (code),
    day       date NOT NULL,
    half      text NOT NULL CHECK (half IN ('am', 'pm')),
    capacity  integer NOT NULL CHECK (capacity BETWEEN 0 AND 500),
    booked    integer NOT NULL DEFAULT 0,
    opened_by text NOT NULL,
    opened_at timestamptz NOT NULL,
    UNIQUE (region, day, half),
    -- The booking's conditional UPDATE keeps this true under any number of
    -- concurrent requests; the constraint is the last word.
    CHECK (booked >= 0 AND booked <= capacity)
);

CREATE TABLE appointments (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    slot_id     bigint NOT NULL REFERENCES appointment_slots (id),
    region      text COLLATE "C" NOT NULL REFERENCES regions (code),
    day         date NOT NULL,
    half        text NOT NULL,
    matter_code text REFERENCES matters (code),
    chain_code  text REFERENCES chains (code),
    name        text NOT NULL,
    -- The phone sealed with the personal-data key (pii), row = code.
    phone_enc   bytea NOT NULL,
    phone_last4 text NOT NULL,
    -- The one-time confirmation code, hashed; tries counted.
    otp_hash    bytea,
    otp_tries   integer NOT NULL DEFAULT 0,
    status      text NOT NULL CHECK (status IN ('booked', 'confirmed', 'cancelled', 'arrived')),
    confirmed_via text NOT NULL DEFAULT '',
    case_id     bigint REFERENCES cases (id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK ((matter_code IS NULL) <> (chain_code IS NULL))
);
CREATE INDEX appointments_region_day_idx ON appointments (region, day);

-- +goose Down
DROP TABLE appointments, appointment_slots;
