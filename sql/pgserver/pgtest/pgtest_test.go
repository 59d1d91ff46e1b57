package pgtest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDatabaseIsolated(t *testing.T) {
	a := connect(t, pgtest.NewDatabase(t, ""))
	b := connect(t, pgtest.NewDatabase(t, ""))

	var nameA, nameB string
	a.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameA)
	b.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameB)
	if nameA == nameB || nameA == "" {
		t.Fatalf("databases %q and %q are not distinct", nameA, nameB)
	}
	if _, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (v int)"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Exec(t.Context(), "SELECT * FROM only_in_a")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" { // undefined_table
		t.Fatalf("table of database A visible in B: %v", err)
	}
}

// The database is dropped when the test ends, even with a connection left open.
func TestNewDatabaseDropped(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		conn, err := pgx.Connect(t.Context(), pgtest.NewDatabase(t, ""))
		if err != nil {
			t.Fatal(err)
		}
		// Deliberately not closed before the database is dropped.
		t.Cleanup(func() { conn.Close(context.Background()) })
		conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name)
	})
	admin := connect(t, pgtest.Server(t).URLFor("postgres"))
	var n int
	if err := admin.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if name == "" || n != 0 {
		t.Fatalf("database %q still exists after its test", name)
	}
}

var calls atomic.Int32

func migrate(ctx context.Context, url string) error {
	calls.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE fruit (name text PRIMARY KEY); INSERT INTO fruit VALUES ('apple'), ('pear')")
	return err
}

// leaky leaves its connection open; Template must cope.
func leaky(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE TABLE leaked (v int); INSERT INTO leaked VALUES (7)")
	return err
}

func TestTemplateCopiesTables(t *testing.T) {
	// Concurrent callers share one preparation.
	t.Run("group", func(t *testing.T) {
		for range 4 {
			t.Run("caller", func(t *testing.T) {
				t.Parallel()
				if got := pgtest.Template(t, "tmpl_fruit", migrate); got != "tmpl_fruit" {
					t.Errorf("Template returned %q", got)
				}
			})
		}
	})
	tmpl := pgtest.Template(t, "tmpl_fruit", migrate)
	if n := calls.Load(); n != 1 {
		t.Fatalf("migration ran %d times, want once", n)
	}

	a := connect(t, pgtest.NewDatabase(t, tmpl))
	b := connect(t, pgtest.NewDatabase(t, tmpl))
	var n int
	if err := a.QueryRow(t.Context(), "SELECT count(*) FROM fruit").Scan(&n); err != nil || n != 2 {
		t.Fatalf("copy has %d rows (%v), want 2", n, err)
	}
	if _, err := a.Exec(t.Context(), "DELETE FROM fruit"); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(t.Context(), "SELECT count(*) FROM fruit").Scan(&n); err != nil || n != 2 {
		t.Fatalf("second copy has %d rows (%v) after the first was emptied, want 2", n, err)
	}
}

func TestTemplateWithLeakedConnection(t *testing.T) {
	tmpl := pgtest.Template(t, "tmpl_leaky", leaky)
	conn := connect(t, pgtest.NewDatabase(t, tmpl))
	var v int
	if err := conn.QueryRow(t.Context(), "SELECT v FROM leaked").Scan(&v); err != nil || v != 7 {
		t.Fatalf("copy of leaky template: %d %v", v, err)
	}
}

func TestParallelDatabases(t *testing.T) {
	tmpl := pgtest.Template(t, "tmpl_fruit", migrate)
	for i := range 6 {
		t.Run("db", func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.NewDatabase(t, tmpl))
			if _, err := conn.Exec(t.Context(), "INSERT INTO fruit VALUES ($1)", string(rune('a'+i))); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM fruit").Scan(&n); err != nil || n != 3 {
				t.Fatalf("got %d rows (%v), want 3", n, err)
			}
		})
	}
}
