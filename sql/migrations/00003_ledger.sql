-- +goose Up
-- The ledger (台账): an append-only RFC 6962 Merkle log (see package ledger).
-- Every table here is insert-only: daiban_app loses UPDATE, DELETE and
-- TRUNCATE below, and a trigger refuses those for every role. Someone with
-- the owner's rights can still disable the trigger; `daiban ledger verify`
-- is what catches that.

-- One event. Writers insert it inside their business transaction. The leaf
-- that is hashed is a canonical encoding of (at, actor, case_id, region,
-- type, payload) defined in ledger/leaf.go; payload holds the canonical JSON
-- bytes exactly as hashed. xid (the inserting transaction) lets the
-- integrator find new entries without scanning the whole table; it is not
-- part of the leaf.
CREATE TABLE ledger_entries (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now() CHECK (isfinite(at)),
    actor   text NOT NULL CHECK (actor <> ''),
    case_id bigint CHECK (case_id > 0),
    region  text NOT NULL DEFAULT '' CHECK (region ~ '^([0-9]{6}([0-9]{3}([0-9]{3})?)?)?$'),
    type    text NOT NULL CHECK (type <> ''),
    payload bytea NOT NULL,
    xid     xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX ledger_entries_case_idx ON ledger_entries (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX ledger_entries_xid_idx ON ledger_entries (xid, id);

-- Leaf positions, written only by the integrator.
CREATE TABLE ledger_leaves (
    leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
    entry_id   bigint NOT NULL UNIQUE REFERENCES ledger_entries (id)
);

-- tlog stored hashes (golang.org/x/mod/sumdb/tlog.StoredHashIndex), written
-- only by the integrator.
CREATE TABLE ledger_hashes (
    storage_index bigint PRIMARY KEY CHECK (storage_index >= 0),
    hash          bytea NOT NULL CHECK (length(hash) = 32)
);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), one per
-- integration. horizon: every entry whose xid is below it was integrated
-- when this checkpoint was written (the integrator's resume point).
CREATE TABLE ledger_checkpoints (
    size    bigint PRIMARY KEY CHECK (size > 0),
    root    bytea NOT NULL CHECK (length(root) = 32),
    note    text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    horizon xid8 NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_leaves_append_only BEFORE UPDATE OR DELETE ON ledger_leaves
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_leaves_no_truncate BEFORE TRUNCATE ON ledger_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_hashes_append_only BEFORE UPDATE OR DELETE ON ledger_hashes
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_hashes_no_truncate BEFORE TRUNCATE ON ledger_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- 00002 granted daiban_app UPDATE and DELETE on every new table by default.
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, ledger_leaves, ledger_hashes, ledger_checkpoints FROM daiban_app;
GRANT SELECT, INSERT ON ledger_entries, ledger_leaves, ledger_hashes, ledger_checkpoints TO daiban_app;

-- +goose Down
DROP TABLE ledger_checkpoints, ledger_hashes, ledger_leaves, ledger_entries;
DROP FUNCTION ledger_append_only();
