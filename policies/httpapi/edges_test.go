package httpapi

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
)

// edgeServer is a server with the Headers middleware, the metrics route
// and three answers: JSON, an error and a static file.
func edgeServer(t *testing.T, base, allow string) *Server {
	t.Helper()
	authz, err := policies.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := New(authz, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	s.Echo.Use(Headers(base))
	list, err := ParseAllowList(allow)
	if err != nil {
		t.Fatal(err)
	}
	ok := func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]int{"n": 1}) }
	s.Register(
		Route{Method: http.MethodGet, Path: "/api/v1/x", Public: true, Handler: ok},
		Route{Method: http.MethodGet, Path: "/api/v1/bad", Public: true, Handler: func(echo.Context) error { return daiban.Invalid("q", "不对") }},
		Route{Method: http.MethodGet, Path: "/static/*", Public: true, Handler: func(c echo.Context) error { return c.String(http.StatusOK, "body{}") }},
		MetricsRoute(reg, list),
	)
	return s
}

// TestHeadersOnEveryResponse: answers, errors and unknown routes are not
// cached and not sniffed; static files may be cached; HSTS only over
// HTTPS (a TLS connection, or an https public address behind a proxy).
func TestHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	plain := edgeServer(t, "http://127.0.0.1:8080", "")
	behind := edgeServer(t, "https://daiban.example.gov.cn", "")
	for _, tc := range []struct {
		s             *Server
		path          string
		tls           bool
		noStore, hsts bool
	}{
		{plain, "/api/v1/x", false, true, false},
		{plain, "/api/v1/bad", false, true, false},
		{plain, "/no/such/route", false, true, false},
		{plain, "/static/style.css", false, false, false},
		{plain, "/api/v1/x", true, true, true},
		{behind, "/api/v1/x", false, true, true},
		{behind, "/api/v1/bad", false, true, true},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.tls {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		tc.s.Echo.ServeHTTP(rec, req)
		h := rec.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (tls %v): no nosniff", tc.path, tc.tls)
		}
		if got := h.Get("Cache-Control") == "no-store"; got != tc.noStore {
			t.Errorf("%s (tls %v): Cache-Control %q, want no-store %v", tc.path, tc.tls, h.Get("Cache-Control"), tc.noStore)
		}
		if got := h.Get("Strict-Transport-Security") != ""; got != tc.hsts {
			t.Errorf("%s (tls %v): Strict-Transport-Security %q, want it %v", tc.path, tc.tls, h.Get("Strict-Transport-Security"), tc.hsts)
		}
	}
}

// TestMetricsOnlyToAllowed: the loopback and the configured addresses
// read the metrics; anyone else, whatever X-Forwarded-For says, gets 404.
func TestMetricsOnlyToAllowed(t *testing.T) {
	t.Parallel()
	s := edgeServer(t, "", "10.1.2.3, 192.168.7.0/24, 2001:db8::/32")
	for _, tc := range []struct {
		remote, xff string
		want        int
	}{
		{"127.0.0.1:5000", "", http.StatusOK},
		{"127.8.9.10:5000", "", http.StatusOK},
		{"[::1]:5000", "", http.StatusOK},
		{"10.1.2.3:5000", "", http.StatusOK},
		{"192.168.7.200:5000", "", http.StatusOK},
		{"[2001:db8::5]:5000", "", http.StatusOK},
		{"[::ffff:10.1.2.3]:5000", "", http.StatusOK},
		{"10.1.2.4:5000", "", http.StatusNotFound},
		{"192.168.8.1:5000", "", http.StatusNotFound},
		{"203.0.113.9:5000", "127.0.0.1", http.StatusNotFound},
		{"[2001:db9::1]:5000", "", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
			req.Header.Set("X-Real-IP", tc.xff)
		}
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("/metrics from %s (X-Forwarded-For %q): %d, want %d", tc.remote, tc.xff, rec.Code, tc.want)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0", "example.com", "10.0.0.0/33", "10.0.0.1;10.0.0.2"} {
		if _, err := ParseAllowList(bad); err == nil {
			t.Errorf("ParseAllowList(%q) accepted", bad)
		}
	}
	got, err := ParseAllowList(" 10.0.0.5 ,, 192.168.1.9/24 ")
	if err != nil || len(got) != 2 || got[0].String() != "10.0.0.5/32" || got[1].String() != "192.168.1.0/24" {
		t.Errorf("ParseAllowList: %v %v", got, err)
	}
}

func TestContentDisposition(t *testing.T) {
	got := ContentDisposition("inline", "agreement-2.pdf", "代办服务委托协议书-2.pdf")
	want := `inline; filename="agreement-2.pdf"; filename*=UTF-8''%E4%BB%A3%E5%8A%9E%E6%9C%8D%E5%8A%A1%E5%A7%94%E6%89%98%E5%8D%8F%E8%AE%AE%E4%B9%A6-2.pdf`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
