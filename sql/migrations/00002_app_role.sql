-- +goose Up
-- The server works as daiban_app: it may read and write business tables but
-- only read and insert the ledger (revoked per ledger table). Migrations run
-- as the database owner.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'daiban_app') THEN
        CREATE ROLE daiban_app NOLOGIN;
    END IF;
END
$$;
-- +goose StatementEnd
GRANT daiban_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO daiban_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO daiban_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO daiban_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO daiban_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO daiban_app;

-- +goose Down
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM daiban_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM daiban_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM daiban_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM daiban_app;
REVOKE USAGE ON SCHEMA public FROM daiban_app;
