// Package apptest builds the whole daiban service on a private PostgreSQL
// for end-to-end tests: a migrated database with the demo county's regions
// and catalog, the wired app behind a real HTTP server, and helpers to sign
// in as any role and call the API.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/app"
	"github.com/daiban/daiban/catalog"
	"github.com/daiban/daiban/demo"
	"github.com/daiban/daiban/pgserver/pgtest"
	"github.com/daiban/daiban/regions"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/users"
)

// Password is every test user's password.
const Password = "test-password-1"

// Env is one test's running service.
type Env struct {
	App    *app.App
	Server *httptest.Server
	URL    string // database URL (owner)
	Pool   *pgxpool.Pool
	Logs   *bytes.Buffer

	mu     sync.Mutex
	tokens map[string]string
}

// Template prepares (once per test binary) a migrated database holding the
// demo county's regions and catalog, and returns its name.
func Template(tb testing.TB) string {
	return pgtest.Template(tb, "daiban_app", func(ctx context.Context, url string) error {
		pool, err := migrations.OpenOwnerPool(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := migrations.Up(ctx, pool, nil); err != nil {
			return err
		}
		rs, err := demo.Regions()
		if err != nil {
			return err
		}
		if err := regions.NewStore(pool).Upsert(ctx, rs); err != nil {
			return err
		}
		c, err := demo.Catalog()
		if err != nil {
			return err
		}
		return catalog.NewStore(pool).Import(ctx, c)
	})
}

// New starts the service on a fresh database.
func New(tb testing.TB) *Env {
	tb.Helper()
	url := pgtest.NewDatabase(tb, Template(tb))
	ctx := context.Background()
	pool, err := migrations.OpenAppPool(ctx, url, 16)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
	keys := tb.TempDir()
	if err := agreements.InitKeys(keys, "Yiyuan County Government Service Center"); err != nil {
		tb.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{Pool: pool, Logger: logger, KeyDir: keys})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(a.HTTP.Echo)
	tb.Cleanup(srv.Close)
	runCtx, cancel := context.WithCancel(ctx)
	done := a.Start(runCtx)
	tb.Cleanup(func() { cancel(); <-done })
	return &Env{App: a, Server: srv, URL: url, Pool: pool, Logs: logs, tokens: map[string]string{}}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// User creates a user (password Password) unless it exists.
func (e *Env) User(tb testing.TB, username, role, region string) {
	tb.Helper()
	_, err := e.App.Users.Create(context.Background(), users.NewUser{Username: username, Name: "测试" + username, Role: role, Region: region, Password: Password})
	if err != nil && !strings.Contains(err.Error(), "已存在") {
		tb.Fatal(err)
	}
}

// Token signs in as username (created beforehand) and caches the token.
func (e *Env) Token(tb testing.TB, username string) string {
	tb.Helper()
	e.mu.Lock()
	t, ok := e.tokens[username]
	e.mu.Unlock()
	if ok {
		return t
	}
	r := e.Do(tb, "", http.MethodPost, "/api/v1/login", map[string]string{"username": username, "password": Password}, nil)
	if r.Status != http.StatusOK {
		tb.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	t = r.JSON["token"].(string)
	e.mu.Lock()
	e.tokens[username] = t
	e.mu.Unlock()
	return t
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// ErrorCode returns the contract error code of an error response.
func (r Response) ErrorCode() string {
	if e, ok := r.JSON["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Do calls the API as token ("" = anonymous). body is JSON-encoded unless
// it is a []byte or string, which is sent as is.
func (e *Env) Do(tb testing.TB, token, method, path string, body any, header map[string]string) Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &r.JSON); err != nil {
			tb.Fatalf("%s %s: bad JSON %q", method, path, data)
		}
	}
	return r
}

// Must fails the test unless the response has the wanted status.
func (r Response) Must(tb testing.TB, status int) Response {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// Person is a valid demo applicant (first person in the demo data).
func Person(tb testing.TB, i int) map[string]string {
	tb.Helper()
	people, err := demo.People()
	if err != nil {
		tb.Fatal(err)
	}
	var persons []demo.Person
	for _, p := range people {
		if p.Kind == "person" {
			persons = append(persons, p)
		}
	}
	p := persons[i%len(persons)]
	return map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone}
}

// CreateCase opens a case as token and returns its id and version.
func (e *Env) CreateCase(tb testing.TB, token, region, matter string) (id int64, version int) {
	tb.Helper()
	r := e.Do(tb, token, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": region, "channel": "counter", "matter": matter, "applicant": Person(tb, int(region[len(region)-1])), "summary": "测试案件",
	}, nil).Must(tb, http.StatusCreated)
	return int64(r.JSON["id"].(float64)), int(r.JSON["version"].(float64))
}

// Act performs an action with the given version and returns the response.
func (e *Env) Act(tb testing.TB, token string, id int64, version int, action string, body any) Response {
	tb.Helper()
	return e.Do(tb, token, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, action), body, map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(version))})
}
