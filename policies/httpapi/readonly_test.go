package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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
