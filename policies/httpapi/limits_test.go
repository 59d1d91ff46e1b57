package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
)

// countingAuth refuses every token and counts how often it was asked.
type countingAuth struct{ n *atomic.Int32 }

func (a countingAuth) Authenticate(context.Context, string) (Principal, error) {
	a.n.Add(1)
	return Principal{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "请先登录")
}

// limitServer serves a public form route, a public JSON route with a
// 1 KiB limit and its own message, and a signed-in route; handled counts
// the requests a handler saw, authn the session lookups.
func limitServer(t *testing.T) (base string, handled, authn *atomic.Int32) {
	t.Helper()
	authz, err := policies.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	handled, authn = new(atomic.Int32), new(atomic.Int32)
	s := New(authz, countingAuth{authn}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	h := func(c echo.Context) error {
		handled.Add(1)
		_ = c.FormValue("x")
		_, _ = io.Copy(io.Discard, c.Request().Body)
		return c.String(http.StatusOK, "ok "+c.Param("name"))
	}
	s.Register(
		Route{Method: http.MethodPost, Path: "/form", Public: true, Handler: h},
		Route{Method: http.MethodGet, Path: "/items/:name", Public: true, Handler: h},
		Route{Method: http.MethodPost, Path: "/small", Public: true, Handler: h, MaxBody: 1 << 10, TooLarge: "签名图片过大，请清除后重签"},
		Route{Method: http.MethodPost, Path: "/staff", Obj: "case", Act: "read", Handler: h},
	)
	srv := httptest.NewServer(s.Echo)
	t.Cleanup(srv.Close)
	return srv.URL, handled, authn
}

// chunked hides a reader's length, so the client sends it chunked.
type chunked struct{ io.Reader }

func TestLimitsComeFirst(t *testing.T) {
	base, handled, authn := limitServer(t)
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      io.Reader
		status                    int
		msg                       string
	}{
		{"declared size over the public default", "POST", "/form", form, strings.NewReader("x=" + strings.Repeat("a", PublicBody)), 413, "提交的内容过多"},
		{"undeclared size over the public default", "POST", "/form", form, chunked{strings.NewReader("x=" + strings.Repeat("a", PublicBody))}, 413, "提交的内容过多"},
		{"over the route's own limit, its own message", "POST", "/small", "application/json", strings.NewReader(strings.Repeat(" ", 2<<10)), 413, "签名图片过大"},
		{"multipart where nothing is uploaded", "POST", "/form", "multipart/form-data; boundary=x", strings.NewReader("--x\r\n\r\n--x--\r\n"), 422, "不接受上传文件"},
		{"invalid UTF-8 in a form value", "POST", "/form", form, strings.NewReader("x=%ff"), 422, "无法识别的字符"},
		{"NUL in a form value", "POST", "/form", form, strings.NewReader("x=a%00b"), 422, "无法识别的字符"},
		{"invalid UTF-8 in a path parameter", "GET", "/items/%FF", "", nil, 422, "无法识别的字符"},
		{"NUL in a path parameter", "GET", "/items/a%00", "", nil, 422, "无法识别的字符"},
		{"invalid UTF-8 in a query value", "GET", "/items/a?q=%ff", "", nil, 422, "无法识别的字符"},
		{"NUL in a query key", "GET", "/items/a?%00=1", "", nil, 422, "无法识别的字符"},
		{"a long path parameter", "GET", "/items/" + strings.Repeat("a", 300), "", nil, 422, "过长"},
		{"a long query value", "GET", "/items/a?q=" + strings.Repeat("a", 3000), "", nil, 422, "过长"},
		{"a signed-in route's limit before its session", "POST", "/staff", "application/json", strings.NewReader(strings.Repeat(" ", MaxBody+1)), 413, "提交的内容过多"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, authBefore := handled.Load(), authn.Load()
			req, err := http.NewRequest(tc.method, base+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			req.Header.Set("Authorization", "Bearer x")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env errorBody
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatalf("%d, not the error envelope: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(env.Error.Message, tc.msg) {
				t.Errorf("%d %+v, want %d with %q", resp.StatusCode, env.Error, tc.status, tc.msg)
			}
			for _, r := range env.Error.Message {
				if r < unicode.MaxASCII && unicode.IsLetter(r) {
					t.Errorf("message %q has Latin letters", env.Error.Message)
					break
				}
			}
			if handled.Load() != before || authn.Load() != authBefore {
				t.Errorf("the handler (%d) or the session lookup (%d) ran", handled.Load()-before, authn.Load()-authBefore)
			}
		})
	}
}

func TestLimitsLetOrdinaryRequestsThrough(t *testing.T) {
	base, handled, _ := limitServer(t)
	for _, tc := range []struct {
		method, path, ctype string
		body                string
		chunk               bool
	}{
		{"POST", "/form", "application/x-www-form-urlencoded", "x=" + strings.Repeat("办", 10000), false},
		{"POST", "/form", "application/x-www-form-urlencoded", "x=" + strings.Repeat("办", 10000), true},
		{"POST", "/small", "application/json", strings.Repeat(" ", 1<<10), true},
		{"GET", "/items/%E5%8A%9E?q=" + strings.Repeat("%E5%8A%9E", 600), "", "", false},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
			if tc.chunk {
				body = chunked{body}
			}
		}
		req, _ := http.NewRequest(tc.method, base+tc.path, body)
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		before := handled.Load()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || handled.Load() != before+1 {
			t.Errorf("%s %s (chunked %v): %d %s", tc.method, tc.path[:min(len(tc.path), 40)], tc.chunk, resp.StatusCode, b)
		}
	}
}
