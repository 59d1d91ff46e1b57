-- +goose Up
-- Regions form a tree by code prefix: county (6 digits) > township (9) > village (12).
CREATE TABLE regions (
    code   text PRIMARY KEY CHECK (code ~ '^[0-9]{6}([0-9]{3}([0-9]{3})?)?$'),
    name   text NOT NULL CHECK (name <> ''),
    level  text NOT NULL CHECK (level IN ('county', 'township', 'village')),
    parent text REFERENCES regions (code),
    CHECK ((level = 'county') = (parent IS NULL)),
    CHECK (length(code) = CASE level WHEN 'county' THEN 6 WHEN 'township' THEN 9 ELSE 12 END),
    CHECK (parent IS NULL OR left(code, length(parent)) = parent)
);
CREATE INDEX regions_parent_idx ON regions (parent);

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'),
    name          text NOT NULL CHECK (name <> ''),
    role          text NOT NULL CHECK (role IN ('county_agent', 'township_agent', 'village_agent', 'supervisor', 'admin')),
    region        text NOT NULL REFERENCES regions (code),
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Sessions keep only the SHA-256 of the bearer token; the token itself is
-- shown to the client once. csrf_token guards cookie-authenticated forms.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Failed sign-ins, counted per username and per client address to throttle
-- guessing across every server instance.
CREATE TABLE login_failures (
    id       bigserial PRIMARY KEY,
    username text NOT NULL,
    address  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures (username, at);
CREATE INDEX login_failures_address_idx ON login_failures (address, at);

-- The matter catalog (事项目录).
CREATE TABLE materials (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{2,64}$'),
    name text NOT NULL CHECK (name <> '')
);

CREATE TABLE matters (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{2,64}$'),
    name        text NOT NULL CHECK (name <> ''),
    department  text NOT NULL CHECK (department <> ''),
    level       text NOT NULL CHECK (level IN ('county', 'city', 'province', 'national')),
    limit_days  integer NOT NULL CHECK (limit_days BETWEEN 1 AND 365),
    complexity  text NOT NULL CHECK (complexity IN ('simple', 'general', 'complex')),
    where_to_go text NOT NULL DEFAULT ''
);

CREATE TABLE matter_materials (
    matter_code   text NOT NULL REFERENCES matters (code) ON DELETE CASCADE,
    material_code text NOT NULL REFERENCES materials (code),
    position      integer NOT NULL,
    original      boolean NOT NULL,
    count         integer NOT NULL CHECK (count BETWEEN 1 AND 100),
    PRIMARY KEY (matter_code, material_code)
);

-- Chains (一件事): several matters handled as one, each material collected once.
CREATE TABLE chains (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_]{2,64}$'),
    name text NOT NULL CHECK (name <> '')
);

CREATE TABLE chain_matters (
    chain_code  text NOT NULL REFERENCES chains (code) ON DELETE CASCADE,
    matter_code text NOT NULL REFERENCES matters (code),
    position    integer NOT NULL,
    PRIMARY KEY (chain_code, matter_code)
);

-- +goose Down
DROP TABLE chain_matters, chains, matter_materials, matters, materials,
    login_failures, sessions, users, regions;
