package pgcluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/sql/pgserver/pgcluster"
)

// Start skips only where pg_auto_failover cannot be installed; CI
// (DAIBAN_REQUIRE_FAULTS) installs it and fails instead.
func start(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if errors.Is(err, pgcluster.ErrNoAutoFailover) && os.Getenv("DAIBAN_REQUIRE_FAULTS") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// A write acknowledged by the primary is on the secondary: replication
// is synchronous.
func TestFormationIsSynchronous(t *testing.T) {
	begin := time.Now()
	c := start(t)
	t.Logf("formation up in %v", time.Since(begin).Round(time.Millisecond))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("daiban"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var port int
	var names, level string
	if err := conn.QueryRow(ctx, "SELECT inet_server_port(), current_setting('synchronous_standby_names'), current_setting('synchronous_commit')").Scan(&port, &names, &level); err != nil {
		t.Fatal(err)
	}
	if port != c.Nodes[0].Port || names == "" || level != "on" {
		t.Fatalf("primary port %d (want %d), synchronous_standby_names %q, synchronous_commit %q", port, c.Nodes[0].Port, names, level)
	}
	su, err := pgx.Connect(ctx, c.NodeURL(c.Nodes[0], "postgres", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(ctx)
	var state string
	if err := su.QueryRow(ctx, "SELECT sync_state FROM pg_stat_replication WHERE application_name LIKE 'pgautofailover_standby_%'").Scan(&state); err != nil || (state != "sync" && state != "quorum") {
		t.Fatalf("secondary's sync_state %q %v, want sync or quorum", state, err)
	}
	st, err := c.ShowState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pg_autoctl show state:\n%s", st)
}
