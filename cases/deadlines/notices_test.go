package deadlines_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func sh(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, calendar.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// TestThresholds pins the thresholds: working hours, levels and the make-up
// Saturday before the 2026 Spring Festival.
func TestThresholds(t *testing.T) {
	cal := calendar.Default()
	for s, want := range map[string]bool{
		"2026-02-13 08:29:59": false, "2026-02-13 08:30:00": true, "2026-02-13 17:29:59": true, "2026-02-13 17:30:00": false,
		"2026-02-14 09:00:00": true, // make-up Saturday
		"2026-02-15 09:00:00": false, "2026-02-23 10:00:00": false, "2026-03-07 10:00:00": false, "2026-10-10 08:30:00": true,
	} {
		if got := deadlines.InWorkingHours(cal, sh(s)); got != want {
			t.Errorf("%s in working hours: %v, want %v", s, got, want)
		}
	}
	due := sh("2026-02-26 00:00:00") // Thursday after the Spring Festival
	for today, want := range map[string]string{
		"2026-02-12": "", "2026-02-13": "", // 4 working days left: 14, 24, 25, 26
		"2026-02-14": deadlines.Warn3, // 3 left (make-up Saturday)
		"2026-02-20": deadlines.Warn3, // a holiday: still 3 left
		"2026-02-24": deadlines.Warn3, // 2 left
		"2026-02-25": deadlines.Warn1, "2026-02-26": deadlines.Warn1,
		"2026-02-27": deadlines.Overdue,
	} {
		if got := deadlines.Level(cal, sh(today+" 10:00:00"), due); got != want {
			t.Errorf("on %s: level %q, want %q", today, got, want)
		}
	}
}

// sender counts deliveries per notice.
type sender struct {
	mu   sync.Mutex
	sent map[int64]int
}

func (s *sender) Send(_ context.Context, n deadlines.Notice) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[n.ID]++
	return nil
}

func (s *sender) snapshot() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]int{}
	for k, v := range s.sent {
		out[k] = v
	}
	return out
}

type key struct {
	caseID             int64
	kind, deadline, to string
}

func (k key) String() string { return fmt.Sprintf("%d/%s/%s→%s", k.caseID, k.kind, k.deadline, k.to) }

// observed returns every notice grouped by case, kind, deadline and
// recipient, with its count.
func observed(t *testing.T, db *pgxpool.Pool) map[key]int {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT coalesce(case_id, 0), kind, coalesce(deadline::text, ''), recipient, count(*)
		FROM notices GROUP BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[key]int{}
	for rows.Next() {
		var k key
		var n int
		if err := rows.Scan(&k.caseID, &k.kind, &k.deadline, &k.to, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

func diff(got, want map[key]int) string {
	var lines []string
	for k, n := range got {
		if want[k] != n {
			lines = append(lines, fmt.Sprintf("got %s ×%d, want ×%d", k, n, want[k]))
		}
	}
	for k, n := range want {
		if _, ok := got[k]; !ok {
			lines = append(lines, fmt.Sprintf("missing %s ×%d", k, n))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}

// TestThreeInstancesExactlyOnce runs three servers on one database, each
// with its own River client, drives cases past their thresholds with a
// controllable clock, kills one server in the middle of a notice's
// transaction, and counts every notice exactly once in the notices table
// and in the ledger.
func TestThreeInstancesExactlyOnce(t *testing.T) {
	ctx := t.Context()
	clk := apptest.NewClock(sh("2026-02-12 09:00:00")) // Thursday before the Spring Festival
	out := &sender{sent: map[int64]int{}}
	url := apptest.NewDatabase(t)
	opts := apptest.Options{Now: clk.Now, ScanInterval: time.Second, Sender: out}
	envs := []*apptest.Env{apptest.NewShared(t, url, opts), apptest.NewShared(t, url, opts), apptest.NewShared(t, url, opts)}
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()

	e := envs[0]
	e.User(t, "x.town", "township_agent", "370323001")  // 历山街道
	e.User(t, "x.town2", "township_agent", "370323002") // 南麻街道: no supervisor of its own
	e.User(t, "x.county", "county_agent", "370323")     // tracks the escalation
	e.User(t, "x.super1", "supervisor", "370323001")    // 历山街道's supervisors
	e.User(t, "x.super2", "supervisor", "370323001")
	e.User(t, "x.csuper", "supervisor", "370323") // the county's
	tok := e.Token(t, "x.town")
	// Load on all three while the notices are made: another township's
	// agent runs accompanied cases (no deadline, so no notices of their
	// own) through whichever servers are alive.
	e.User(t, "x.load", "township_agent", "370323101")
	load := startLoad(t, envs, e.Token(t, "x.load"), "370323101")

	// Four cases with a 5-working-day limit signed on Thursday 12 February:
	// due Thursday 26th (Fri 13, make-up Sat 14, Tue 24, Wed 25, Thu 26).
	var running []int64
	for i := 0; i < 4; i++ {
		running = append(running, e.Delegate(t, "x.town", "370323001", "SP001"))
	}
	other := e.Delegate(t, "x.town2", "370323002", "SP001")
	// One at a higher authority whose reply is due Friday 13th: no
	// deadline warnings (its clock is stopped), a reply_overdue instead.
	upper := e.Delegate(t, "x.town", "370323001", "SP001")
	e.Act(t, tok, upper, e.Version(t, upper), "progress", map[string]any{"note": "送审"}).Must(t, 200)
	e.Act(t, tok, upper, e.Version(t, upper), "escalate", map[string]any{"level": "city", "authority": "淄博市市场监管局", "tracker": "x.county", "reply_due": "2026-02-13"}).Must(t, 200)
	// One suspended: no notices at all.
	paused := e.Delegate(t, "x.town", "370323001", "SP001")
	e.Act(t, tok, paused, e.Version(t, paused), "suspend", map[string]any{"reason": "申请人要求暂缓"}).Must(t, 200)
	// A 督办 note reaches the handler at once.
	e.Act(t, e.Token(t, "x.super1"), running[0], e.Version(t, running[0]), "supervise", map[string]any{"note": "请关注节后办结"}).Must(t, 200)

	var due string
	if err := owner.QueryRow(ctx, "SELECT due_date::text FROM cases WHERE id = $1", running[0]).Scan(&due); err != nil || due != "2026-02-26" {
		t.Fatalf("due %s %v", due, err)
	}
	want := map[key]int{{running[0], deadlines.Supervise, "", "x.town"}: 1}

	check := func(phase string) {
		t.Helper()
		if d := diff(observed(t, owner), want); d != "" {
			t.Fatalf("%s: %s", phase, d)
		}
	}
	// await waits until the notices are exactly want, failing at once on
	// a duplicate, and returns how long it took.
	await := func(phase string, since time.Time) time.Duration {
		t.Helper()
		for {
			got := observed(t, owner)
			for k, n := range got {
				if n > 1 {
					t.Fatalf("%s: %s sent %d times", phase, k, n)
				}
			}
			if diff(got, want) == "" {
				took := time.Since(since)
				t.Logf("%s: all notices in %v", phase, took.Round(10*time.Millisecond))
				if took > 60*time.Second {
					t.Errorf("%s: notices took %v, more than a minute", phase, took)
				}
				return took
			}
			if time.Since(since) > 90*time.Second {
				t.Fatalf("%s: after 90s: %s", phase, diff(got, want))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// quiet lets several scans run and checks nothing new came.
	quiet := func(phase string) {
		t.Helper()
		time.Sleep(3500 * time.Millisecond)
		check(phase)
	}
	await("supervise", time.Now())

	// Friday 13th 17:00: four working days left, no warning.
	clk.Set(sh("2026-02-13 17:00:00"))
	quiet("four days left")
	// Saturday 14th is a make-up working day: 3 days left at 08:30, not
	// a minute earlier.
	clk.Set(sh("2026-02-14 08:29:00"))
	quiet("before opening")
	clk.Set(sh("2026-02-14 08:30:00"))
	for _, id := range running {
		want[key{id, deadlines.Warn3, "2026-02-26", "x.town"}] = 1
	}
	want[key{other, deadlines.Warn3, "2026-02-26", "x.town2"}] = 1
	want[key{upper, deadlines.ReplyOverdue, "2026-02-13", "x.county"}] = 1
	await("warn_3 on the make-up Saturday", time.Now())
	// Sunday 15th, in the holiday: nothing.
	clk.Set(sh("2026-02-15 10:00:00"))
	quiet("holiday")

	// Wednesday 25th 08:30: one day left. The first warn_1 transaction to
	// reach its commit, on whichever server, is held there and that
	// server is killed: its transaction dies with its connections, and
	// the survivors must send that notice, once.
	hit := make(chan int, 3)
	var armed atomic.Bool
	armed.Store(true)
	for i, env := range envs {
		deadlines.SetBeforeCommit(env.App.Deadlines, func(ctx context.Context, caseID int64, level string) {
			if level == deadlines.Warn1 && armed.CompareAndSwap(true, false) {
				hit <- i
				<-ctx.Done()
			}
		})
	}
	start := time.Now()
	clk.Set(sh("2026-02-25 08:30:00"))
	var victim int
	select {
	case victim = <-hit:
	case <-time.After(60 * time.Second):
		t.Fatal("no warn_1 transaction within a minute")
	}
	var leader string
	_ = owner.QueryRow(ctx, "SELECT leader_id FROM river_leader").Scan(&leader)
	t.Logf("instance %s holds a warn_1 notice uncommitted (River leader: %s); killing it", envs[victim].Name(), leader)
	load.killed[victim].Store(true)
	envs[victim].Kill(t)
	for _, id := range running {
		want[key{id, deadlines.Warn1, "2026-02-26", "x.town"}] = 1
	}
	want[key{other, deadlines.Warn1, "2026-02-26", "x.town2"}] = 1
	await("warn_1 with a server killed", start)
	dead := map[int]bool{victim: true}
	// If that was not River's leader, kill the leader as well (hard: its
	// leadership is not handed over but must expire), so the last server
	// has to take the periodic scan over.
	if err := owner.QueryRow(ctx, "SELECT leader_id FROM river_leader").Scan(&leader); err != nil {
		t.Fatal(err)
	}
	for i, env := range envs {
		if env.Name() == leader && !dead[i] {
			t.Logf("killing the River leader %s too", leader)
			load.killed[i].Store(true)
			env.Kill(t)
			dead[i] = true
		}
	}
	var survivors []*apptest.Env
	for i, env := range envs {
		if !dead[i] {
			survivors = append(survivors, env)
		}
	}

	// Friday 27th 08:30: overdue. 督办 to 历山街道's two supervisors; 南麻街道
	// has none, so the county's.
	clk.Set(sh("2026-02-27 08:30:00"))
	for _, id := range running {
		want[key{id, deadlines.Overdue, "2026-02-26", "x.super1"}] = 1
		want[key{id, deadlines.Overdue, "2026-02-26", "x.super2"}] = 1
	}
	want[key{other, deadlines.Overdue, "2026-02-26", "x.csuper"}] = 1
	await("overdue after the kill", time.Now())
	if err := owner.QueryRow(ctx, "SELECT leader_id FROM river_leader").Scan(&leader); err != nil {
		t.Fatal(err)
	}
	alive := false
	for _, env := range survivors {
		alive = alive || env.Name() == leader
	}
	if !alive {
		t.Errorf("River leader is %q, not a live server", leader)
	}
	quiet("settled")
	load.stop(t)

	// Counts: 4×(warn_3, warn_1, 2 overdue) + 3 for the other township +
	// 1 reply + 1 supervise.
	var total, alertRows, ledgerRows, linked int
	_ = owner.QueryRow(ctx, "SELECT count(*) FROM notices").Scan(&total)
	_ = owner.QueryRow(ctx, "SELECT count(*) FROM deadline_alerts").Scan(&alertRows)
	_ = owner.QueryRow(ctx, "SELECT count(*) FROM ledger_entries WHERE type = 'notice.created'").Scan(&ledgerRows)
	err = owner.QueryRow(ctx, `SELECT count(DISTINCT n.id) FROM notices n JOIN ledger_entries e ON e.id = n.ledger_entry
		WHERE e.type = 'notice.created' AND (convert_from(e.payload, 'UTF8')::jsonb->>'notice_id')::bigint = n.id
		  AND e.case_id = n.case_id`).Scan(&linked)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4*4+3+1+1 || alertRows != 4*3+3+1 || ledgerRows != total || linked != total {
		t.Fatalf("notices %d (want 21), alerts %d (want 16), ledger entries %d, linked %d", total, alertRows, ledgerRows, linked)
	}
	t.Logf("%d notices, %d alerts, %d ledger entries, each exactly once", total, alertRows, ledgerRows)

	// Every notice is delivered by the sender; a delivery cut short by
	// the kill may be repeated (the outbox is at-least-once towards the
	// gateway), the notice itself never.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var unsent int
		_ = owner.QueryRow(ctx, "SELECT count(*) FROM notices WHERE sent_at IS NULL").Scan(&unsent)
		if unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notices not delivered", unsent)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sent := out.snapshot()
	repeats := 0
	for _, n := range sent {
		repeats += n - 1
	}
	if len(sent) != total {
		t.Errorf("the sender saw %d notices, want %d", len(sent), total)
	}
	t.Logf("sender: %d notices, %d repeated deliveries", len(sent), repeats)

	// The handler's notices through the API, newest first, unread.
	r := survivors[0].Do(t, survivors[0].Token(t, "x.town"), http.MethodGet, "/api/v1/notices", nil, nil).Must(t, 200)
	var page deadlines.NoticePage
	if err := json.Unmarshal(r.Body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 9 || page.Unread != 9 || page.Items[0].Kind != deadlines.Warn1 || page.Items[8].Kind != deadlines.Supervise {
		t.Fatalf("x.town's notices: %d items, %d unread, first %s", len(page.Items), page.Unread, page.Items[0].Kind)
	}
	for i := 1; i < len(page.Items); i++ {
		if page.Items[i].ID > page.Items[i-1].ID {
			t.Fatal("not newest first")
		}
	}
	if !strings.Contains(page.Items[0].Body, "2026-02-26") || !strings.Contains(page.Items[0].Title, page.Items[0].CaseNumber) {
		t.Errorf("warning text: %s / %s", page.Items[0].Title, page.Items[0].Body)
	}

	// The paused case's clock restarts on Monday 2 March: a new due date,
	// so a new set of notices may follow (deadline version = due date).
	clk.Set(sh("2026-03-02 09:00:00"))
	s := survivors[0]
	s.Act(t, s.Token(t, "x.town"), paused, s.Version(t, paused), "resume", map[string]any{"reason": "续办"}).Must(t, 200)
	var newDue string
	_ = owner.QueryRow(ctx, "SELECT due_date::text FROM cases WHERE id = $1", paused).Scan(&newDue)
	// Suspended since the 12th at signing: counting restarts on Monday
	// 2 March: 2, 3, 4, 5, 6 March.
	if newDue != "2026-03-06" {
		t.Fatalf("resumed case due %s, want 2026-03-06", newDue)
	}
	quiet("four days left on the new deadline")
	clk.Set(sh("2026-03-03 08:30:00"))
	want[key{paused, deadlines.Warn3, "2026-03-06", "x.town"}] = 1
	await("new deadline after resuming", time.Now())
}

// load runs accompanied cases (create, accompany, complete) through a set
// of instances in turn until stopped, skipping the ones marked killed.
type load struct {
	killed    []atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	completed atomic.Int64
	mu        sync.Mutex
	failures  []string // 5xx or malformed answers from live instances
}

func startLoad(t *testing.T, envs []*apptest.Env, token, region string) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{killed: make([]atomic.Bool, len(envs)), cancel: cancel, done: make(chan struct{})}
	// Also when the test ends early (a Fatal before stop).
	t.Cleanup(func() { cancel(); <-l.done })
	// next returns the first live instance from i on, or -1 if all died.
	next := func(i int) int {
		for range envs {
			if !l.killed[i].Load() {
				return i
			}
			i = (i + 1) % len(envs)
		}
		return -1
	}
	failed := func(format string, args ...any) {
		l.mu.Lock()
		l.failures = append(l.failures, fmt.Sprintf(format, args...))
		l.mu.Unlock()
	}
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(i int, path string, body any, version int) (map[string]any, bool) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, envs[i].Server.URL+path, strings.NewReader(string(b)))
		if err != nil {
			return nil, false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if version > 0 {
			req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, version))
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, false // a killed server, or the end of the test
		}
		defer resp.Body.Close()
		var out map[string]any
		derr := json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 || derr != nil {
			if (resp.StatusCode >= 500 || derr != nil) && !l.killed[i].Load() && ctx.Err() == nil {
				failed("%s %s: %d %v", envs[i].Name(), path, resp.StatusCode, out)
			}
			return nil, false
		}
		return out, true
	}
	// num reads a number the answer must carry.
	num := func(out map[string]any, k string) (int, bool) {
		f, ok := out[k].(float64)
		if !ok {
			failed("answer without %q: %v", k, out)
		}
		return int(f), ok
	}
	go func() {
		defer close(l.done)
		for n := 0; ctx.Err() == nil; n++ {
			i := next(n % len(envs))
			if i < 0 {
				return
			}
			out, ok := do(i, "/api/v1/cases", map[string]any{
				"region": region, "channel": "counter", "matter": "GT001",
				"applicant": map[string]string{"kind": "person", "name": "负载测试", "id_number": "11010519491231002X", "phone": "13800000000"},
			}, 0)
			if !ok {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			id, ok1 := num(out, "id")
			v, ok2 := num(out, "version")
			if !ok1 || !ok2 {
				return
			}
			for _, act := range []string{"accompany", "complete"} {
				if i = next((i + 1) % len(envs)); i < 0 {
					return
				}
				if out, ok = do(i, fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, act), map[string]string{"note": "负载"}, v); !ok {
					break
				}
				if v, ok = num(out, "version"); !ok {
					return
				}
			}
			if ok {
				l.completed.Add(1)
			}
			time.Sleep(10 * time.Millisecond) // steady load, not a flood

		}
	}()
	return l
}

// stop ends the load and fails t if it did not run or a live instance
// answered it with a 5xx.
func (l *load) stop(t *testing.T) {
	t.Helper()
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failures {
		t.Errorf("load: %s", f)
	}
	t.Logf("load: %d accompanied cases completed across the instances meanwhile", l.completed.Load())
	if l.completed.Load() < 10 {
		t.Errorf("load: only %d cases completed", l.completed.Load())
	}
}
