-- +goose Up
-- Addresses a user has signed in from (issue 19). Sign-in attempts from a
-- known address of a username are throttled on that pair's own failures,
-- so guesses from elsewhere cannot keep the real user out at the counter.
CREATE TABLE login_known_addresses (
    username text NOT NULL,
    address  text NOT NULL,
    last_at  timestamptz NOT NULL,
    PRIMARY KEY (username, address)
);
CREATE INDEX login_known_addresses_last_idx ON login_known_addresses (last_at);
-- Failures are now counted per (username, address) pair as well.
CREATE INDEX login_failures_pair_idx ON login_failures (username, address, at);

-- +goose Down
DROP INDEX login_failures_pair_idx;
DROP TABLE login_known_addresses;
