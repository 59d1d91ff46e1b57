// Package faults_test injects faults into a running "daiban serve": the
// process is killed mid-load, or its PostgreSQL stops mid-load, and every
// answer the server acknowledged must survive.
package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const password = "faults-password-1"

// buildDaiban builds the daiban binary into a test temp dir.
func buildDaiban(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "daiban")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// By import path: the test runs in its own folder, inside the module.
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "github.com/daiban/daiban/cmd/daiban")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type agent struct{ username, region string }

// makeAgents creates n township agents on the database at url.
func makeAgents(t *testing.T, url string, n int) []agent {
	t.Helper()
	towns := demoRegions(t, "township")
	var out []agent
	var us []users.NewUser
	for i := range n {
		a := agent{username: fmt.Sprintf("fault.agent%d", i+1), region: towns[i%len(towns)]}
		us = append(us, users.NewUser{Username: a.username, Name: fmt.Sprintf("故障代办员%d", i+1), Role: "township_agent", Region: a.region, Password: password})
		out = append(out, a)
	}
	createUsers(t, url, us...)
	return out
}

// demoRegions lists the demo county's region codes at level.
func demoRegions(t *testing.T, level string) []string {
	t.Helper()
	rs, err := demo.Regions()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if r.Level == level {
			out = append(out, r.Code)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s in the demo regions", level)
	}
	return out
}

// createUsers creates us on the database at url, as the fault tests.
func createUsers(t *testing.T, url string, us ...users.NewUser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc := users.NewService(pool, ledger.RecordAccount)
	for _, u := range us {
		if _, err := svc.Create(ctx, users.Actor{Username: "system:faults"}, u); err != nil {
			t.Fatalf("create %s: %v", u.Username, err)
		}
	}
}

// daiban is one "daiban serve" subprocess (and the env for one-shot
// commands).
type daiban struct {
	bin  string
	env  []string
	addr string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func newDaiban(t *testing.T, bin, dbURL string) *daiban {
	dir := t.TempDir()
	d := &daiban{bin: bin, addr: freeAddr(t), log: filepath.Join(dir, "serve.log")}
	d.env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		// The server's own login, as an operator configures it: the app
		// role itself, not the owner.
		"DAIBAN_APP_DATABASE_URL="+strings.Replace(dbURL, "://"+pgserver.Superuser+"@", "://"+migrations.AppRole+"@", 1),
		"DAIBAN_ADDR="+d.addr,
		"DAIBAN_KEYS="+filepath.Join(dir, "keys"),
		"DAIBAN_DATA="+filepath.Join(dir, "data"),
		"DAIBAN_LOG_LEVEL=warn",
	)
	t.Cleanup(func() {
		d.kill()
		if t.Failed() {
			b, _ := os.ReadFile(d.log)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("serve log tail:\n%s", b)
		}
	})
	return d
}

func (d *daiban) start(t *testing.T) {
	t.Helper()
	lf, err := os.OpenFile(d.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// serve never makes keys: "daiban keys init" does, once per key
	// directory (instances may share one).
	if out, err := d.run(t, "keys", "init", "--if-missing"); err != nil {
		lf.Close()
		t.Fatalf("daiban keys init: %v\n%s", err, out)
	}
	cmd := exec.Command(d.bin, "serve")
	cmd.Env = d.env
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatal(err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); lf.Close(); close(d.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			t.Fatalf("daiban serve exited during start: %v", cmd.ProcessState)
		default:
		}
		if st, _, err := d.get("/healthz", 2*time.Second); err == nil && st == http.StatusOK {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("daiban serve: /healthz not ok within 60s")
}

// kill SIGKILLs the server and waits for it.
func (d *daiban) kill() {
	if d.cmd == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
	}
	d.cmd = nil
}

func (d *daiban) alive() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

func (d *daiban) get(path string, timeout time.Duration) (int, []byte, error) {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get("http://" + d.addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// run runs a one-shot daiban command with the server's environment.
func (d *daiban) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = d.env
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// client is one agent's HTTP session.
type client struct {
	base  string
	http  *http.Client
	token string
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
	dur    time.Duration
}

func (a answer) code() string {
	if e, ok := a.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (a answer) num(k string) int64 {
	f, _ := a.body[k].(float64)
	return int64(f)
}

func (c *client) do(ctx context.Context, method, path string, body any, hdr map[string]string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	begin := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{dur: time.Since(begin)}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw, dur: time.Since(begin)}
	if err != nil {
		return a, err
	}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &a.body)
	}
	return a, nil
}

func login(ctx context.Context, base string, a agent) (*client, error) {
	c := &client{base: base, http: &http.Client{Timeout: 15 * time.Second}}
	r, err := c.do(ctx, http.MethodPost, "/api/v1/login", map[string]string{"username": a.username, "password": password}, nil)
	if err != nil {
		return nil, err
	}
	tok, _ := r.body["token"].(string)
	if r.status != http.StatusOK || tok == "" {
		return nil, fmt.Errorf("login %s: %d %s", a.username, r.status, r.raw)
	}
	c.token = tok
	return c, nil
}

// ack is one acknowledged write: the case and the version it answered.
type ack struct {
	id      int64
	version int64
	action  string
}

// recorder collects acknowledgements and anomalies from the workers.
type recorder struct {
	mu        sync.Mutex
	acks      []ack
	statuses  map[string]int // "status/code" -> count (non-2xx)
	connErrs  []string
	maxDur    time.Duration
	unexpects []string
}

func newRecorder() *recorder { return &recorder{statuses: map[string]int{}} }

func (r *recorder) ack(a ack) {
	r.mu.Lock()
	r.acks = append(r.acks, a)
	r.mu.Unlock()
}

// note records a non-2xx answer or a transport error.
func (r *recorder) note(what string, a answer, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maxDur = max(r.maxDur, a.dur)
	if err != nil {
		if len(r.connErrs) < 20 {
			r.connErrs = append(r.connErrs, what+": "+err.Error())
		}
		return
	}
	k := fmt.Sprintf("%d/%s", a.status, a.code())
	r.statuses[k]++
	if a.status != http.StatusServiceUnavailable || a.code() != "unavailable" {
		if len(r.unexpects) < 20 {
			r.unexpects = append(r.unexpects, fmt.Sprintf("%s: %d %s", what, a.status, a.raw))
		}
	}
}

// checkFault fails t for what a server must not do while a fault lasts:
// drop a connection, answer anything but 2xx or 503 unavailable, or take
// 5 s or more to answer.
func (r *recorder) checkFault(t *testing.T, during string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.connErrs {
		// Context cancellation at the end is ours, not the server's.
		if !strings.Contains(e, "context canceled") {
			t.Errorf("transport error from daiban %s: %s", during, e)
		}
	}
	for _, u := range r.unexpects {
		t.Errorf("unexpected answer (want 2xx or 503 unavailable): %s", u)
	}
	if r.maxDur > 5*time.Second {
		t.Errorf("slowest answer took %v, want < 5s", r.maxDur)
	}
}

func (r *recorder) lat(d time.Duration) {
	r.mu.Lock()
	r.maxDur = max(r.maxDur, d)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []ack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ack(nil), r.acks...)
}

var people = sync.OnceValues(func() ([]demo.Person, error) {
	all, err := demo.People()
	if err != nil {
		return nil, err
	}
	var ps []demo.Person
	for _, p := range all {
		if p.Kind == "person" {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil, errors.New("no demo person")
	}
	return ps, nil
})

// lifecycle runs create -> accompany -> complete once; every 2xx is
// recorded. It returns the transport error, if any, and whether every step
// succeeded.
func lifecycle(ctx context.Context, c *client, a agent, rec *recorder, key string, n int) (bool, error) {
	ps, err := people()
	if err != nil {
		return false, err
	}
	p := ps[n%len(ps)]
	r, err := c.do(ctx, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": a.region, "channel": "counter", "matter": "GT001",
		"applicant":        map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone},
		"summary":          "故障注入测试案件",
		"duplicate_reason": "测试：同一申请人多件",
	}, map[string]string{"Idempotency-Key": key})
	if err != nil || r.status != http.StatusCreated {
		rec.note("create", r, err)
		return false, err
	}
	rec.lat(r.dur)
	id, v := r.num("id"), r.num("version")
	rec.ack(ack{id: id, version: v, action: "create"})
	for _, act := range []string{"accompany", "complete"} {
		r, err = c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, act),
			map[string]string{"note": "故障测试"}, map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(v))})
		if err != nil || r.status != http.StatusOK {
			rec.note(act, r, err)
			return false, err
		}
		rec.lat(r.dur)
		v = r.num("version")
		rec.ack(ack{id: id, version: v, action: act})
	}
	return true, nil
}

// checkDurable checks every acknowledgement against the database at url
// and that no case is half-applied.
func checkDurable(t *testing.T, url string, acks []ack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	type caseRow struct {
		version, maxLedger, created int64
		state                       string
	}
	rows, err := conn.Query(ctx, `
		SELECT c.id, c.version, c.state,
		       coalesce((SELECT max((convert_from(l.payload, 'UTF8')::jsonb->>'version')::bigint)
		                 FROM ledger_entries l WHERE l.case_id = c.id), 1),
		       (SELECT count(*) FROM ledger_entries l WHERE l.case_id = c.id AND l.type = 'case.created')
		FROM cases c`)
	if err != nil {
		t.Fatal(err)
	}
	cs := map[int64]caseRow{}
	for rows.Next() {
		var id int64
		var r caseRow
		if err := rows.Scan(&id, &r.version, &r.state, &r.maxLedger, &r.created); err != nil {
			t.Fatal(err)
		}
		cs[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every case's ledger replays to its version.
	for id, r := range cs {
		if r.created != 1 {
			t.Errorf("case %d: %d case.created ledger entries, want 1", id, r.created)
		}
		if r.maxLedger != r.version {
			t.Errorf("case %d half-applied: version %d, last ledger version %d (state %s)", id, r.version, r.maxLedger, r.state)
		}
	}
	// Every acknowledgement is there.
	missing := 0
	for _, a := range acks {
		r, ok := cs[a.id]
		if !ok {
			missing++
			t.Errorf("acknowledged %s of case %d lost: no such case", a.action, a.id)
			continue
		}
		if r.version < a.version {
			missing++
			t.Errorf("acknowledged %s of case %d at version %d lost: case is at version %d", a.action, a.id, a.version, r.version)
		}
		if a.version > 1 {
			var n int
			err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE case_id = $1
				AND (convert_from(payload, 'UTF8')::jsonb->>'version')::bigint = $2`, a.id, a.version).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("acknowledged %s of case %d at version %d: %d ledger entries, want 1", a.action, a.id, a.version, n)
			}
		}
		if missing > 20 {
			t.Fatal("too many lost acknowledgements")
		}
	}
	t.Logf("checked %d acknowledgements against %d cases", len(acks), len(cs))
}

// runWorkers runs one worker per agent until ctx ends, each bounded in
// iterations; stopOnConnErr makes a worker stop at its first transport
// error (the server is dead).
func runWorkers(ctx context.Context, base string, agents []agent, rec *recorder, tag string, stopOnConnErr bool) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w, a := range agents {
		wg.Go(func() {
			var c *client
			for i := 0; i < 5000 && ctx.Err() == nil; i++ {
				if c == nil {
					var err error
					c, err = login(ctx, base, a)
					if err != nil {
						if ctx.Err() == nil {
							rec.note("login", answer{}, err)
						}
						if stopOnConnErr {
							return
						}
						c = nil
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				ok, err := lifecycle(ctx, c, a, rec, fmt.Sprintf("faults-%s-%d-%d", tag, w, i), w*10000+i)
				if err != nil && stopOnConnErr {
					return
				}
				if !ok {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	return &wg
}

func TestKillServerMidLoad(t *testing.T) {
	bin := buildDaiban(t)
	url := pgtest.NewDatabase(t, apptest.Template(t))
	agents := makeAgents(t, url, 4)
	d := newDaiban(t, bin, url)
	d.start(t)

	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wg := runWorkers(ctx, "http://"+d.addr, agents, rec, "kill", true)
	time.Sleep(2 * time.Second)
	d.kill()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		cancel()
		<-waited
		t.Error("workers did not notice the dead server within 20s")
	}
	cancel()
	acks := rec.snapshot()
	t.Logf("acknowledged before the kill: %d (non-2xx: %v)", len(acks), rec.statuses)
	if len(acks) == 0 {
		t.Fatalf("no write acknowledged in 2s of load; anomalies: %v %v", rec.unexpects, rec.connErrs)
	}
	for _, u := range rec.unexpects {
		t.Errorf("unexpected answer under load: %s", u)
	}

	d.start(t)
	checkDurable(t, url, acks)

	// The restarted server takes new work.
	c, err := login(context.Background(), "http://"+d.addr, agents[0])
	if err != nil {
		t.Fatal(err)
	}
	rec2 := newRecorder()
	if ok, err := lifecycle(context.Background(), c, agents[0], rec2, "faults-kill-after", 7); !ok {
		t.Fatalf("lifecycle after restart failed: %v %v %v", err, rec2.unexpects, rec2.connErrs)
	}

	if out, err := d.run(t, "ledger", "checkpoint"); err != nil {
		t.Fatalf("daiban ledger checkpoint: %v\n%s", err, out)
	}
	if out, err := d.run(t, "ledger", "verify"); err != nil {
		t.Fatalf("daiban ledger verify: %v\n%s", err, out)
	} else {
		t.Logf("ledger verify: %s", strings.TrimSpace(out))
	}
}

// startPG starts (or restarts) a durable private PostgreSQL in dir.
func startPG(t *testing.T, dir string) *pgserver.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, pgserver.Options{
		DataDir:   dir,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Database:  "daiban",
		Ephemeral: false,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func prepareDB(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	rs, err := demo.Regions()
	if err != nil {
		t.Fatal(err)
	}
	if err := regions.NewStore(pool).Upsert(ctx, rs); err != nil {
		t.Fatal(err)
	}
	c, err := demo.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.NewStore(pool).Import(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func TestDatabaseStopsMidLoad(t *testing.T) {
	bin := buildDaiban(t)
	// A short path so the socket stays DataDir/run across restarts.
	dir, err := os.MkdirTemp("", "dbf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pg := startPG(t, dir)
	var pgMu sync.Mutex
	t.Cleanup(func() {
		pgMu.Lock()
		defer pgMu.Unlock()
		if pg != nil {
			_ = pg.Stop()
		}
	})
	url := pg.URL()
	prepareDB(t, url)
	agents := makeAgents(t, url, 4)
	d := newDaiban(t, bin, url)
	d.start(t)

	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wg := runWorkers(ctx, "http://"+d.addr, agents, rec, "dbstop", false)
	time.Sleep(2 * time.Second)

	pgMu.Lock()
	if err := pg.Stop(); err != nil {
		t.Errorf("stopping PostgreSQL: %v", err)
	}
	pg = nil
	pgMu.Unlock()
	downAt := time.Now()
	acksBefore := len(rec.snapshot())

	// While it is down: /healthz answers 503, quickly.
	var healthSeen []int
	for time.Since(downAt) < 3*time.Second {
		begin := time.Now()
		st, body, err := d.get("/healthz", 5*time.Second)
		if err != nil {
			t.Errorf("/healthz while the database is down: %v (after %v)", err, time.Since(begin))
		} else {
			healthSeen = append(healthSeen, st)
			if st != http.StatusServiceUnavailable {
				t.Errorf("/healthz while the database is down: %d %s", st, body)
			}
		}
		if !d.alive() {
			t.Fatal("daiban serve exited while the database was down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// An authenticated read while down answers the 503 envelope.
	if c, err := loginNoDB(d, agents[0]); err != nil {
		t.Errorf("login while the database is down: %v", err)
	} else if c.status != http.StatusServiceUnavailable || c.code() != "unavailable" {
		t.Errorf("login while the database is down: %d %s, want 503 unavailable", c.status, c.raw)
	}
	rec.mu.Lock()
	downStatuses := fmt.Sprint(rec.statuses)
	rec.mu.Unlock()

	pgMu.Lock()
	pg = startPG(t, dir)
	pgMu.Unlock()
	if got := pg.URL(); got != url {
		t.Fatalf("socket moved: %s, was %s", got, url)
	}
	upAt := time.Now()

	// Recovery without a restart: /healthz and new work succeed.
	healthy := false
	for time.Since(upAt) < 30*time.Second {
		if st, _, err := d.get("/healthz", 5*time.Second); err == nil && st == http.StatusOK {
			healthy = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !healthy {
		t.Fatal("/healthz not ok within 30s after PostgreSQL came back")
	}
	recovered := false
	rec2 := newRecorder()
	var lastErr string
	for i := 0; i < 50 && time.Since(upAt) < 30*time.Second; i++ {
		c, err := login(context.Background(), "http://"+d.addr, agents[1])
		if err == nil {
			var ok bool
			ok, err = lifecycle(context.Background(), c, agents[1], rec2, fmt.Sprintf("faults-dbstop-after-%d", i), 11+i)
			if ok {
				recovered = true
				break
			}
		}
		lastErr = fmt.Sprint(err, rec2.unexpects, rec2.connErrs)
		time.Sleep(200 * time.Millisecond)
	}
	if !recovered {
		t.Fatalf("no lifecycle succeeded within 30s after PostgreSQL came back: %s", lastErr)
	}
	recoveryTime := time.Since(upAt)
	// Let the workers run a little on the recovered database too.
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	acks := append(rec.snapshot(), rec2.snapshot()...)
	t.Logf("acks: %d before stop, %d in total; /healthz while down: %v; non-2xx during load: %s; max latency %v; recovery %v",
		acksBefore, len(acks), healthSeen, downStatuses, rec.maxDur, recoveryTime)
	if len(acks) == 0 {
		t.Fatal("nothing acknowledged")
	}
	rec.checkFault(t, "during the outage")
	if !d.alive() {
		t.Fatal("daiban serve died")
	}
	checkDurable(t, url, acks)
}

// loginNoDB tries a login (which needs the database) and returns the answer.
func loginNoDB(d *daiban, a agent) (answer, error) {
	c := &client{base: "http://" + d.addr, http: &http.Client{Timeout: 5 * time.Second}}
	return c.do(context.Background(), http.MethodPost, "/api/v1/login", map[string]string{"username": a.username, "password": password}, nil)
}
