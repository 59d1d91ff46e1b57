-- +goose Up

-- Guards an update by the case version inside a pipelined batch: when the
-- row was changed meanwhile, the statement fails (SQLSTATE DB409) and the
-- whole transaction with it, so a batch can carry its COMMIT.
-- +goose StatementBegin
CREATE FUNCTION daiban_expect_rows(got bigint, want bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF got <> want THEN
        RAISE EXCEPTION 'version_conflict' USING ERRCODE = 'DB409';
    END IF;
END
$$;
-- +goose StatementEnd

-- Per region and day counter behind the human-readable case number.
CREATE TABLE case_counters (
    region text NOT NULL,
    day    date NOT NULL,
    n      integer NOT NULL,
    PRIMARY KEY (region, day)
);

CREATE TABLE cases (
    id                  bigserial PRIMARY KEY,
    number              text COLLATE "C" NOT NULL UNIQUE,
    tracking_code       text NOT NULL UNIQUE,
    region              text COLLATE "C" NOT NULL REFERENCES regions (code),
    channel             text NOT NULL CHECK (channel IN ('counter', 'village', 'hotline', 'online')),
    matter_code         text REFERENCES matters (code),
    chain_code          text REFERENCES chains (code),
    title               text NOT NULL,
    matter_codes        text[] NOT NULL,
    complexity          text NOT NULL CHECK (complexity IN ('simple', 'general', 'complex')),
    limit_days          integer NOT NULL,
    mode                text CHECK (mode IN ('guide', 'accompany', 'delegate')),
    applicant_kind      text NOT NULL CHECK (applicant_kind IN ('person', 'enterprise')),
    applicant_name      text COLLATE "C" NOT NULL,
    applicant_id_number text NOT NULL,
    applicant_phone     text NOT NULL,
    summary             text NOT NULL DEFAULT '',
    state               text NOT NULL,
    paused_from         text,
    outcome             text,
    version             integer NOT NULL DEFAULT 1,
    created_by          text NOT NULL,
    assignee            text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    delegated_at        timestamptz,
    due_date            date,
    rating              integer CHECK (rating BETWEEN 1 AND 5),
    rating_comment      text,
    rated_at            timestamptz,
    CHECK ((matter_code IS NULL) <> (chain_code IS NULL))
) WITH (fillfactor = 80); -- room for HOT updates: most actions touch no indexed column
CREATE INDEX cases_region_idx ON cases (region, id);
CREATE INDEX cases_state_idx ON cases (state, id);
CREATE INDEX cases_matter_idx ON cases USING gin (matter_codes);
CREATE INDEX cases_assignee_idx ON cases (assignee, id) WHERE assignee IS NOT NULL;
CREATE INDEX cases_created_by_idx ON cases (created_by, id);
CREATE INDEX cases_due_idx ON cases (due_date) WHERE due_date IS NOT NULL;
-- Search is by prefix of the number or of the applicant's name (bytewise,
-- so a btree serves it) and by exact phone number.
CREATE INDEX cases_name_idx ON cases (applicant_name);
CREATE INDEX cases_phone_idx ON cases (applicant_phone);

-- Each required material of the case: review results and who holds the
-- original now.
CREATE TABLE case_materials (
    case_id           bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    code              text NOT NULL,
    name              text NOT NULL,
    position          integer NOT NULL,
    required_original boolean NOT NULL,
    required_count    integer NOT NULL,
    received          boolean NOT NULL DEFAULT false,
    original          boolean NOT NULL DEFAULT false,
    pages             integer NOT NULL DEFAULT 0,
    holder            text NOT NULL DEFAULT 'applicant',
    PRIMARY KEY (case_id, code)
);

CREATE TABLE custody_moves (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    material_code text NOT NULL,
    from_holder   text NOT NULL,
    to_holder     text NOT NULL,
    count         integer NOT NULL,
    note          text NOT NULL DEFAULT '',
    actor         text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX custody_moves_case_idx ON custody_moves (case_id, id);

CREATE TABLE escalations (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    level        text NOT NULL CHECK (level IN ('city', 'province', 'national')),
    authority    text NOT NULL,
    tracker      text NOT NULL,
    reply_due    date NOT NULL,
    note         text NOT NULL DEFAULT '',
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    replied_at   timestamptz,
    outcome      text CHECK (outcome IN ('approved', 'returned', 'refused')),
    reply_note   text
);
CREATE INDEX escalations_case_idx ON escalations (case_id, id);
CREATE UNIQUE INDEX escalations_open_idx ON escalations (case_id) WHERE replied_at IS NULL;

CREATE TABLE handover_items (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('licence', 'approval', 'material', 'other')),
    name          text NOT NULL,
    number        text NOT NULL DEFAULT '',
    material_code text,
    verified      boolean NOT NULL DEFAULT false
);
CREATE INDEX handover_items_case_idx ON handover_items (case_id, id);

-- 差评 rectification items opened by a rating of 2 or less.
CREATE TABLE rectifications (
    id         bigserial PRIMARY KEY,
    case_id    bigint NOT NULL UNIQUE REFERENCES cases (id) ON DELETE CASCADE,
    rating     integer NOT NULL,
    comment    text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'rectified')),
    opened_at  timestamptz NOT NULL DEFAULT now(),
    due_date   date NOT NULL,
    closed_at  timestamptz,
    result     text
);

-- Responses to POSTs that carried an Idempotency-Key, stored in the same
-- transaction as the effect, so a retry returns the first response.
CREATE TABLE idempotency_keys (
    username     text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, key)
);

-- +goose Down
DROP TABLE idempotency_keys, rectifications, handover_items, escalations,
    custody_moves, case_materials, cases, case_counters;
DROP FUNCTION daiban_expect_rows(bigint, bigint);
