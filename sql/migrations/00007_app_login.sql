-- +goose Up
-- daiban_app becomes a LOGIN role. The embedded server's pool used to log
-- in as the cluster's superuser and SET ROLE daiban_app, so one
-- "SET ROLE NONE" gave any statement the server ran the superuser's rights
-- (pg_read_file of the key files among them). Now the pool logs in as
-- daiban_app itself: it owns nothing, has no attribute beyond LOGIN and is
-- a member of no role, so there is nothing to switch back to.
--
-- On an external database the owner may lack the right to alter roles; the
-- server then connects through DAIBAN_APP_DATABASE_URL (a login the DBA
-- made and granted daiban_app), so this step is skipped with a notice.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'daiban_app') THEN
        BEGIN
            ALTER ROLE daiban_app LOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'daiban_app stays NOLOGIN: % (use DAIBAN_APP_DATABASE_URL)', SQLERRM;
        END;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER ROLE daiban_app NOLOGIN;
