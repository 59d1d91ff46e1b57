package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/daiban/daiban/policies/httpapi"
)

// A write on a connection to a server that a failover made a standby is
// the passing outage of a failover (503), not a bug (500).
func TestReadOnlyServerIsUnavailable(t *testing.T) {
	err := &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}
	if st := httpapi.Status(err); st != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", st)
	}
	if msg := httpapi.Unavailable(err); msg == "" {
		t.Fatal("no user-facing message for a read-only server")
	}
}

// A server that dies while a pooled connection to it is idle, or in the
// middle of a statement, closes its end: whatever the driver was doing —
// a plain statement, a transaction, a batch — the error is the outage of
// a failover (503), not a bug (500).
func TestServerGoneIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go fakeDyingServer(l)
	ctx := context.Background()
	url := "postgres://u@" + l.Addr().String() + "/db?sslmode=disable"
	ops := map[string]func(c *pgx.Conn) error{
		"exec": func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "UPDATE cases SET version = version + 1")
			return err
		},
		"simple protocol": func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "UPDATE cases SET version = version + 1", pgx.QueryExecModeSimpleProtocol)
			return err
		},
		"transaction": func(c *pgx.Conn) error {
			tx, err := c.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx)
			return tx.Commit(ctx)
		},
		"batch": func(c *pgx.Conn) error {
			b := &pgx.Batch{}
			b.Queue("UPDATE cases SET version = version + 1")
			b.Queue("INSERT INTO ledger_entries DEFAULT VALUES")
			return c.SendBatch(ctx, b).Close()
		},
	}
	for name, op := range ops {
		for _, mode := range []string{"", "&default_query_exec_mode=exec"} { // prepared first, or not
			conn, err := pgx.Connect(ctx, url+mode)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // idle in the pool while the server dies
			err = op(conn)
			conn.Close(ctx)
			if err == nil {
				t.Fatalf("%s: no error from a server that closed the connection", name)
			}
			if st := httpapi.Status(err); st != http.StatusServiceUnavailable {
				t.Errorf("%s (%q): %v (%T): status %d, want 503", name, mode, err, err, st)
			}
		}
	}
}

// fakeDyingServer accepts each connection, completes the startup and
// closes the connection at the first message after it.
func fakeDyingServer(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			be := pgproto3.NewBackend(c, c)
			if _, err := be.ReceiveStartupMessage(); err != nil {
				return
			}
			be.Send(&pgproto3.AuthenticationOk{})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			if be.Flush() != nil {
				return
			}
			_, _ = be.Receive()
		}()
	}
}
