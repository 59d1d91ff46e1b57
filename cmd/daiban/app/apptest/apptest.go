// Package apptest builds the whole daiban service on a private PostgreSQL
// for end-to-end tests: a migrated database with the demo county's regions
// and catalog, the wired app behind a real HTTP server, and helpers to sign
// in as any role and call the API.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// Password is every test user's password.
const Password = "test-password-1"

// Env is one test's running service.
type Env struct {
	App    *app.App
	Server *httptest.Server
	URL    string        // database URL (owner)
	Pool   *pgxpool.Pool // the server's pool: logged in as the app role
	Keys   string        // the key directory (DAIBAN_KEYS), made by "keys init"
	Logs   *LogBuffer

	mu     sync.Mutex
	tokens map[string]string

	name   string
	dead   atomic.Bool
	cancel context.CancelFunc
	stop   func()
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
	return NewShared(tb, NewDatabase(tb))
}

// NewDatabase returns the owner URL of a fresh database made from
// Template, for NewShared.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb, Template(tb))
}

// Options tune an instance; the zero value is what New starts.
type Options struct {
	// Now is the instance's clock (cases, deadline scan, supervision).
	Now func() time.Time
	// ScanInterval is how often the deadline scan runs.
	ScanInterval time.Duration
	// Sender delivers the instance's notices.
	Sender deadlines.Sender
	// TSAURL is the RFC 3161 service (the local TSA when empty), and
	// TimestampInterval how often documents awaiting a timestamp are
	// completed.
	TSAURL            string
	TimestampInterval time.Duration
	// Public configures the witnesses and the public rate limit; zero
	// limits mean limits high enough for the tests' bursts from one
	// address (the rate limit's own tests set theirs).
	Public app.PublicOptions
	// CodeSender delivers applicants' one-time codes.
	CodeSender cases.CodeSender
	// Notify tunes the applicant notifications (retries, senders).
	Notify notify.Config
}

var (
	instances atomic.Int64
	sharedMu  sync.Mutex
	sharedKey = map[string]string{} // database URL -> key directory
)

// NewShared starts another instance of the service on the database at
// url (from NewDatabase): its own pool, HTTP server, River client and
// background work, as a second "daiban serve" would be. Instances on one
// database share the key directory, as servers share DAIBAN_KEYS.
func NewShared(tb testing.TB, url string, opts ...Options) *Env {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	e := &Env{URL: url, Logs: &LogBuffer{}, tokens: map[string]string{}, name: fmt.Sprintf("apptest_%d", instances.Add(1))}
	// The pool serve opens on its embedded server: logged in as the app
	// role itself, checked by NewAppPool.
	cfg, err := migrations.AppPoolConfig(url, migrations.LoginAsApp, 16)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = e.name
	cfg.BeforeConnect = func(context.Context, *pgx.ConnConfig) error {
		if e.dead.Load() {
			return errors.New("apptest: instance killed")
		}
		return nil
	}
	logger := slog.New(slog.NewJSONHandler(e.Logs, nil))
	e.Pool, err = migrations.NewAppPool(ctx, cfg, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Pool.Close)
	e.Keys = sharedKeys(tb, url)
	if o.Public.RatePerSecond == 0 {
		o.Public.RatePerSecond, o.Public.RateBurst = 1e6, 1e6
	}
	e.App, err = app.New(ctx, app.Options{Pool: e.Pool, Logger: logger, KeyDir: e.Keys, Now: o.Now, ScanInterval: o.ScanInterval, Sender: o.Sender, JobsID: e.name,
		TSAURL: o.TSAURL, TimestampInterval: o.TimestampInterval, Public: o.Public, CodeSender: o.CodeSender, Notify: o.Notify})
	if err != nil {
		tb.Fatal(err)
	}
	e.Server = httptest.NewServer(e.App.HTTP.Echo)
	tb.Cleanup(e.Server.Close)
	runCtx, cancel := context.WithCancel(ctx)
	done := e.App.Start(runCtx)
	e.cancel = cancel
	e.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			tb.Errorf("apptest: instance %s did not stop within a minute", e.name)
		}
	})
	tb.Cleanup(e.stop)
	return e
}

// sharedKeys returns the key directory of the database at url, made (with
// the center's keys, as "daiban keys init" makes them) on first use.
func sharedKeys(tb testing.TB, url string) string {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if dir, ok := sharedKey[url]; ok {
		return dir
	}
	dir := tb.TempDir()
	if err := pdf.InitKeys(dir, "沂源县政务服务中心"); err != nil {
		tb.Fatal(err)
	}
	sharedKey[url] = dir
	return dir
}

// Kill stops the instance the hard way, as if its process died: its
// database connections are cut at once (a transaction in flight rolls
// back; River's leadership is not handed over, it expires), it cannot
// connect again, its HTTP server closes and its goroutines are told to
// stop. It does not wait for them (the test's cleanup does).
func (e *Env) Kill(tb testing.TB) {
	tb.Helper()
	e.dead.Store(true)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.URL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", e.name); err != nil {
		tb.Fatal(err)
	}
	e.Server.CloseClientConnections()
	e.cancel()
}

// Name is the instance's name: its River client id and its connections'
// application_name.
func (e *Env) Name() string { return e.name }

// LogBuffer keeps an instance's log lines: written by the server's
// goroutines, read by the test, under one lock.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns the lines so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Len is the length of String.
func (l *LogBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// User creates a user (password Password) unless it exists.
func (e *Env) User(tb testing.TB, username, role, region string) {
	tb.Helper()
	_, err := e.App.Users.Create(context.Background(), users.Actor{Username: "system:apptest"}, users.NewUser{Username: username, Name: "测试" + username, Role: policies.Role(role), Region: region, Password: Password})
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
	var sent []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		sent = b
	case string:
		sent = []byte(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		sent = buf
	}
	if body != nil {
		rd = bytes.NewReader(sent)
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
	e.checkContract(tb, req, sent, resp, data)
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

// Enterprise is the demo enterprise whose credit code ends with suffix.
func Enterprise(tb testing.TB, suffix string) map[string]string {
	tb.Helper()
	people, err := demo.People()
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range people {
		if p.Kind == "enterprise" && strings.HasSuffix(p.IDNumber, suffix) {
			return map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone}
		}
	}
	tb.Fatalf("no demo enterprise's credit code ends in %s", suffix)
	return nil
}

// CreateCase opens a case as token and returns its id and version.
func (e *Env) CreateCase(tb testing.TB, token, region, matter string) (id int64, version int) {
	tb.Helper()
	r := e.Do(tb, token, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": region, "channel": "counter", "matter": matter, "applicant": Person(tb, int(region[len(region)-1])), "summary": "测试案件",
		// Tests open many cases for the same few demo people.
		"duplicate_reason": "测试：同一申请人多件",
	}, nil).Must(tb, http.StatusCreated)
	return int64(r.JSON["id"].(float64)), int(r.JSON["version"].(float64))
}

// Act performs an action with the given version and returns the response.
func (e *Env) Act(tb testing.TB, token string, id int64, version int, action string, body any) Response {
	tb.Helper()
	return e.Do(tb, token, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, action), body, map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(version))})
}

// Clock is a controllable clock for Options.Now, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Delegate opens a case as user (an agent) in region for matter, accepts
// it with every material and has the agreement signed (as the documents
// package does when both signatures are in): the case is delegated and its
// clock runs from the service's Now. It returns the case id.
func (e *Env) Delegate(tb testing.TB, user, region, matter string) int64 {
	tb.Helper()
	tok := e.Token(tb, user)
	id, _ := e.CreateCase(tb, tok, region, matter)
	c := e.Do(tb, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(tb, http.StatusOK).JSON
	var mats []map[string]any
	for _, m := range c["materials"].([]any) {
		mm := m.(map[string]any)
		mats = append(mats, map[string]any{"code": mm["code"], "received": true, "original": mm["required_original"], "pages": 1})
	}
	e.Act(tb, tok, id, int(c["version"].(float64)), "review", map[string]any{"result": "accept", "materials": mats}).Must(tb, http.StatusOK)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		_, err := e.App.Cases.SignedAgreementTx(ctx, tx, cases.Actor{Username: user}, id, nil)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// Version returns a case's current version.
func (e *Env) Version(tb testing.TB, id int64) int {
	tb.Helper()
	var v int
	if err := e.Pool.QueryRow(context.Background(), "SELECT version FROM cases WHERE id = $1", id).Scan(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}
