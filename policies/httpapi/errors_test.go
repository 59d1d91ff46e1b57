package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban"
)

// TestDatabaseConditionsAreUnavailable checks which database errors are
// passing conditions (503 with a message for the user) and which are
// bugs (500, told nothing).
func TestDatabaseConditionsAreUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{&pgconn.PgError{Code: "53100", Message: `could not extend file "pg_tblspc/1/2/3": No space left on device`}, http.StatusServiceUnavailable, "存储空间已满"},
		{fmt.Errorf("sealing: %w", &pgconn.PgError{Code: "53100"}), http.StatusServiceUnavailable, "存储空间已满"},
		{&pgconn.PgError{Code: "57P01"}, http.StatusServiceUnavailable, "数据库暂时不可用"},
		{&pgconn.ConnectError{}, http.StatusServiceUnavailable, "数据库暂时不可用"},
		{&pgconn.PgError{Code: "53200", Message: "out of shared memory"}, http.StatusInternalServerError, ""},
		{daiban.Errorf(daiban.EUNAVAILABLE, "电子签章私钥 /etc/keys/seal.key 的权限过宽"), http.StatusServiceUnavailable, ""},
		{&pgconn.PgError{Code: "23505"}, http.StatusInternalServerError, ""},
		{errors.New("boom"), http.StatusInternalServerError, ""},
		{daiban.Invalid("name", "姓名不能为空"), http.StatusUnprocessableEntity, ""},
	} {
		status := Status(tc.err)
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, status, tc.status)
		}
		msg := Unavailable(tc.err)
		if tc.msg == "" && msg != "" || !strings.Contains(msg, tc.msg) {
			t.Errorf("%v: user message %q, want one containing %q", tc.err, msg, tc.msg)
		}
		if strings.Contains(msg, "No space") || strings.Contains(msg, "pg_tblspc") {
			t.Errorf("%v: database text in the user message %q", tc.err, msg)
		}
	}
}
