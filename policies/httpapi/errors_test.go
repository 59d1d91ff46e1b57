package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
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

// TestWrappedErrorsKeepCodesAndContext checks daiban.Wrap end to end: a
// wrapped application error keeps its code, message and field for the
// client, and the log of an internal error names the operation and the
// case while the client is told nothing of it.
func TestWrappedErrorsKeepCodesAndContext(t *testing.T) {
	invalid := error(daiban.Invalid("note", "说明 不能为空"))
	daiban.Wrap(&invalid, "cases: review case %d", 42)
	if Status(invalid) != http.StatusUnprocessableEntity || daiban.ErrorField(invalid) != "note" || daiban.ErrorMessage(invalid) != "说明 不能为空" {
		t.Errorf("wrapped invalid: status %d, field %q, message %q", Status(invalid), daiban.ErrorField(invalid), daiban.ErrorMessage(invalid))
	}

	var logs bytes.Buffer
	authz, err := policies.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(authz, nil, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	s.Register(Route{Method: http.MethodGet, Path: "/boom", Public: true, Handler: func(echo.Context) (err error) {
		defer daiban.Wrap(&err, "cases: review case %d", 42)
		return errors.New("connection reset by peer")
	}})
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "review case") || strings.Contains(rec.Body.String(), "connection reset") {
		t.Errorf("client got %d %s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "cases: review case 42: connection reset by peer") {
		t.Errorf("the log does not say which action on which case failed: %s", logs.String())
	}
}
