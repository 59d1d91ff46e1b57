package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver"
)

// Finding 2: the server's connection could give itself the superuser's
// rights ("SET ROLE NONE") and read the key files with pg_read_file. The
// re-run takes a connection from the pool the server uses (opened the way
// serve opens it on its embedded database) and tries again.
func init() {
	addFinding("keys through the database", func(t *testing.T, r *attackRun) {
		ctx := t.Context()
		conn, err := r.env.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The connection leaves in an attacker's state: closed, not reused.
		defer func() { _ = conn.Hijack().Close(context.Background()) }()
		c := conn.Conn()

		if _, err := c.Exec(ctx, "SET ROLE NONE"); err != nil {
			t.Fatalf("SET ROLE NONE: %v", err)
		}
		var login, role string
		var super, serverFiles bool
		err = c.QueryRow(ctx, `SELECT session_user::text, current_user::text, rolsuper,
			pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')
			FROM pg_roles WHERE rolname = current_user`).Scan(&login, &role, &super, &serverFiles)
		if err != nil {
			t.Fatal(err)
		}
		if super || serverFiles || login != migrations.AppRole || role != migrations.AppRole {
			t.Errorf("after SET ROLE NONE: login %s, role %s, superuser %v, pg_read_server_files %v; want %s with neither",
				login, role, super, serverFiles, migrations.AppRole)
		}

		denied := func(what, sql string, args ...any) {
			t.Helper()
			var s any
			err := c.QueryRow(ctx, sql, args...).Scan(&s)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "permission denied for function") {
				t.Errorf("%s: got %v (%v), want permission denied for the function", what, err, s)
			}
		}
		for _, f := range []string{"seal.key", "ledger.key", "root.key"} {
			denied("pg_read_file "+f, "SELECT pg_read_file($1)", filepath.Join(r.env.Keys, f))
		}
		denied("pg_read_binary_file", "SELECT pg_read_binary_file($1)", filepath.Join(r.env.Keys, "seal.key"))
		denied("pg_ls_dir", "SELECT pg_ls_dir('.')")

		for _, stmt := range []string{
			"SET ROLE " + pgserver.Superuser,
			"SET SESSION AUTHORIZATION " + pgserver.Superuser,
			"SET ROLE pg_read_server_files",
		} {
			if _, err := c.Exec(ctx, stmt); err == nil {
				t.Errorf("%s: allowed", stmt)
			}
		}
	})
}
