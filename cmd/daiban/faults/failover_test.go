package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cmd/daiban/loadgen"
	"github.com/daiban/daiban/sql/pgserver/pgcluster"
)

// supervisor issues 督办 notes on a few cases, through both instances in
// turn, until ctx ends: each acknowledged note is a write and must make
// exactly one notice, delivered once.
type supervisor struct {
	cases []int64
	acks  answers
	errs  answers
}

func (s *supervisor) run(ctx context.Context, t *testing.T, ds []*daiban, who agent) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		cs := make([]*client, len(ds))
		for i := 0; ctx.Err() == nil; i++ {
			d := i % len(ds)
			if cs[d] == nil {
				c, err := login(ctx, "http://"+ds[d].addr, who)
				if err != nil {
					time.Sleep(300 * time.Millisecond)
					continue
				}
				cs[d] = c
			}
			id := s.cases[i%len(s.cases)]
			s.supervise(ctx, cs[d], id)
			time.Sleep(300 * time.Millisecond)
		}
	})
	return &wg
}

// supervise reads the case's version and adds one note.
func (s *supervisor) supervise(ctx context.Context, c *client, id int64) {
	r, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil)
	if err != nil || r.status != http.StatusOK {
		s.errs.add(loadgen.Answer{Action: "get", At: time.Now(), Status: r.status, Code: r.code(), Err: fmt.Errorf("%w %s", err, r.raw)})
		return
	}
	sent := time.Now()
	r, err = c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/supervise", id),
		map[string]string{"note": "请加快办理"}, map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(r.num("version")))})
	if err != nil || r.status != http.StatusOK {
		if ctx.Err() == nil {
			s.errs.add(loadgen.Answer{Action: "supervise", At: time.Now(), Status: r.status, Code: r.code(), Err: fmt.Errorf("%w %s", err, r.raw)})
		}
		return
	}
	s.acks.add(loadgen.Answer{Action: "supervise", Sent: sent, At: time.Now(), Status: 200, CaseID: id, Version: r.num("version")})
}

// openCases creates n consultation cases for the supervisor to note.
func openCases(t *testing.T, base string, a agent, n int) []int64 {
	t.Helper()
	c, err := login(context.Background(), base, a)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := people()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range n {
		p := ps[i%len(ps)]
		r, err := c.do(context.Background(), http.MethodPost, "/api/v1/cases", map[string]any{
			"region": a.region, "channel": "counter", "matter": "GT001",
			"applicant":        map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone},
			"summary":          "督办测试案件",
			"duplicate_reason": "测试：同一申请人多件",
		}, nil)
		if err != nil || r.status != http.StatusCreated {
			t.Fatalf("create: %v %d %s", err, r.status, r.raw)
		}
		ids = append(ids, r.num("id"))
	}
	return ids
}

// outage finds, in the answers, the last acknowledgement before the kill
// and the first after it.
func outage(as []loadgen.Answer, killAt time.Time) (lastBefore, firstAfter time.Time) {
	for _, a := range as {
		if !a.Acknowledged() {
			continue
		}
		if a.At.Before(killAt) && a.At.After(lastBefore) {
			lastBefore = a.At
		}
		if a.Sent.After(killAt) && (firstAfter.IsZero() || a.At.Before(firstAfter)) {
			firstAfter = a.At
		}
	}
	return lastBefore, firstAfter
}

// TestFailoverMidLoad kills the primary machine (pg_autoctl and its
// PostgreSQL, SIGKILL) while the load generator drives two daiban
// instances and a supervisor adds 督办 notes; the secondary is promoted,
// daiban answers 503 meanwhile and recovers by itself, nothing
// acknowledged is lost, and the old primary rejoins as secondary.
func TestFailoverMidLoad(t *testing.T) {
	begin := time.Now()
	bin := buildDaiban(t)
	c := startCluster(t, pgclusterOptions())
	t.Run("replication is synchronous", func(t *testing.T) { checkSynchronous(t, c) })
	url := c.URL("daiban")
	prepareDB(t, url)
	agents := makeAgents(t, url, 5)
	super := makeSupervisor(t, url, "fo.super")
	ds := twoInstances(t, bin, url)
	sup := &supervisor{cases: openCases(t, "http://"+ds[0].addr, agents[4], 3)}
	kept, keptSize := keepCheckpoint(t, ds[0], "before-failover.checkpoint")

	col := &answers{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopHealth := pollHealth(ctx, ds)
	waitLoad := startLoad(ctx, t, ds, agents[:4], col)
	supWG := sup.run(ctx, t, ds, super)

	time.Sleep(6 * time.Second)
	old := c.Nodes[0]
	killAt := time.Now()
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("SIGKILL to the primary %s (pg_autoctl, postmaster, backends) at %s, all gone %.3f s later", old.Name, killAt.Format("15:04:05.000"), killed.Sub(killAt).Seconds())

	t.Run("secondary promoted", func(t *testing.T) {
		if err := c.WaitStates(context.Background(), 60*time.Second, map[string]string{"node2": "wait_primary"}); err != nil {
			t.Fatal(err)
		}
		t.Logf("node2 promoted (wait_primary) %.1f s after the kill", time.Since(killAt).Seconds())
	})
	recovered := waitAck(t, col, killed, 60*time.Second)
	time.Sleep(5 * time.Second) // load on the new primary
	stopAt := time.Now()
	cancel()
	waitLoad()
	supWG.Wait()
	health := stopHealth()

	all := append(col.snapshot(), sup.acks.snapshot()...)
	lastBefore, firstAfter := outage(all, killed)
	for _, a := range all {
		if a.Acknowledged() && a.Sent.After(killAt) && a.At.Before(killAt.Add(5*time.Second)) {
			t.Logf("acknowledged right after the kill: %s case %d v%d sent +%.3f s, answered +%.3f s", a.Action, a.CaseID, a.Version, a.Sent.Sub(killAt).Seconds(), a.At.Sub(killAt).Seconds())
		}
	}
	t.Logf("outage: last acknowledged write %.2f s before the kill, first after it %.2f s after: %.1f s without writes (goal ≤ 30 s)",
		killAt.Sub(lastBefore).Seconds(), firstAfter.Sub(killAt).Seconds(), firstAfter.Sub(lastBefore).Seconds())
	if !recovered || firstAfter.Sub(lastBefore) > 30*time.Second {
		t.Errorf("outage longer than 30 s")
	}
	t.Run("503 unavailable meanwhile", func(t *testing.T) {
		checkOutageAnswers(t, append(col.snapshot(), sup.errs.snapshot()...), health, killAt, firstAfter, stopAt)
		if t.Failed() {
			logInternalErrors(t, ds)
		}
	})
	acks := append(acksOf(col.snapshot()), acksOf(sup.acks.snapshot())...)
	t.Run("every acknowledged write present, none half-applied", func(t *testing.T) {
		t.Logf("acknowledged writes: %d (%d after the failover); refusals: %s", len(acks), countAfter(all, killAt), statusCounts(col.snapshot()))
		checkDurable(t, url, acks)
	})
	t.Run("no duplicate notice", func(t *testing.T) { checkNotices(t, url, ds, sup) })
	t.Run("ledger verifies against the checkpoint kept before", func(t *testing.T) {
		checkLedgerAfter(t, ds[1], kept, keptSize)
	})
	t.Run("old primary rejoins as secondary", func(t *testing.T) {
		rejoin := time.Now()
		if err := c.Rejoin(context.Background(), old, 90*time.Second); err != nil {
			t.Fatal(err)
		}
		st, _ := c.ShowState(context.Background())
		t.Logf("node1 secondary again after %.1f s:\n%s", time.Since(rejoin).Seconds(), st)
		checkSynchronous(t, c) // commits wait for it again
	})
	t.Logf("whole test %.1f s", time.Since(begin).Seconds())
}

// waitAck waits for a write sent after the kill to be acknowledged.
func waitAck(t *testing.T, col *answers, killAt time.Time, limit time.Duration) bool {
	t.Helper()
	for time.Since(killAt) < limit {
		if _, first := outage(col.snapshot(), killAt); !first.IsZero() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("no write acknowledged within %v of the kill", limit)
	return false
}

func countAfter(as []loadgen.Answer, at time.Time) int {
	n := 0
	for _, a := range as {
		if a.Acknowledged() && a.Sent.After(at) {
			n++
		}
	}
	return n
}

// checkOutageAnswers: during the outage every refusal is 503
// unavailable (never a 500, never a dropped connection), and /healthz
// said 503 and then 200 again on each instance.
func checkOutageAnswers(t *testing.T, as []loadgen.Answer, health []healthSample, killAt, recovered, stopAt time.Time) {
	n503 := 0
	for _, a := range as {
		if a.Err == nil {
			continue
		}
		if a.Status == 0 && errors.Is(a.Err, context.Canceled) && !a.At.Before(stopAt) {
			continue // the test ended the load: its own requests in flight were cancelled
		}
		if a.Status == http.StatusServiceUnavailable && a.Code == "unavailable" {
			n503++
			continue
		}
		t.Errorf("%s at %s: want 2xx or 503 unavailable, got %d %v", a.Action, a.At.Format("15:04:05.000"), a.Status, a.Err)
	}
	if n503 == 0 {
		t.Error("no 503 unavailable answered during the failover")
	}
	down, upAgain := map[string]int{}, map[string]bool{}
	for _, h := range health {
		if h.err != nil {
			t.Errorf("/healthz on %s: %v", h.addr, h.err)
			continue
		}
		if h.status == http.StatusServiceUnavailable && h.at.After(killAt) {
			down[h.addr]++
		}
		if h.status == http.StatusOK && h.at.After(recovered) {
			upAgain[h.addr] = true
		}
	}
	t.Logf("503 unavailable answers: %d; /healthz 503 per instance: %v; healthy again: %v", n503, down, upAgain)
	if len(upAgain) != 2 {
		t.Errorf("/healthz not 200 again on both instances after recovery: %v", upAgain)
	}
}

// checkNotices: each 督办 note made one notice, every notice was
// delivered, and none twice (the sender's log lines on both instances).
func checkNotices(t *testing.T, url string, ds []*daiban, sup *supervisor) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var notes, notices, unsent int
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM ledger_entries WHERE type = 'case.supervise' AND case_id = ANY($1)),
		(SELECT count(*) FROM notices WHERE kind = 'supervise' AND case_id = ANY($1)),
		(SELECT count(*) FROM notices WHERE sent_at IS NULL)`, sup.cases).Scan(&notes, &notices, &unsent); err != nil {
		t.Fatal(err)
	}
	acked := len(sup.acks.snapshot())
	if notes < acked || notices != notes {
		t.Errorf("督办 notes: %d acknowledged, %d in the ledger, %d notices", acked, notes, notices)
	}
	// Delivery is a River job: wait for it on the new primary.
	deadline := time.Now().Add(20 * time.Second)
	for unsent > 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		_ = conn.QueryRow(ctx, "SELECT count(*) FROM notices WHERE sent_at IS NULL").Scan(&unsent)
	}
	if unsent > 0 {
		t.Errorf("%d notices never delivered", unsent)
	}
	sent := noticesSent(t, ds)
	var dups []string
	for id, n := range sent {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("notice %d ×%d", id, n))
		}
	}
	if len(dups) > 0 {
		t.Errorf("notices delivered more than once: %s", strings.Join(dups, ", "))
	}
	t.Logf("督办 notes acknowledged %d, in the ledger %d, their notices %d; notices delivered in all %d, none twice", acked, notes, notices, len(sent))
}

// checkLedgerAfter waits for the integrator (a River job, now on the new
// primary) to sign a checkpoint past the kept one, then verifies the
// whole ledger against the kept checkpoint.
func checkLedgerAfter(t *testing.T, d *daiban, kept string, keptSize int64) {
	deadline := time.Now().Add(30 * time.Second)
	var size int64
	for time.Now().Before(deadline) {
		out, err := d.runStdout(t, "ledger", "checkpoint")
		if err == nil {
			if size = checkpointSize(t, out); size > keptSize {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if size <= keptSize {
		t.Fatalf("no checkpoint past the kept one (size %d) after the failover", keptSize)
	}
	out, err := d.run(t, "ledger", "verify", "--checkpoint", kept)
	if err != nil {
		t.Fatalf("daiban ledger verify --checkpoint: %v\n%s", err, out)
	}
	t.Logf("kept checkpoint size %d, latest %d; ledger verify --checkpoint: %s", keptSize, size, strings.TrimSpace(out))
}

// checkSynchronous: the primary's commits wait for the secondary
// (synchronous_commit on, one standby in sync or quorum state), so an
// acknowledged action is on both machines.
func checkSynchronous(t *testing.T, c *pgcluster.Cluster) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := c.SyncStandbys(context.Background())
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("synchronous standbys on the primary: %d %v, want 1", n, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	conn, err := pgx.Connect(context.Background(), c.URL("daiban"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var names, level string
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit')").Scan(&names, &level); err != nil {
		t.Fatal(err)
	}
	if names == "" || level != "on" {
		t.Fatalf("synchronous_standby_names %q, synchronous_commit %q", names, level)
	}
	t.Logf("synchronous replication: synchronous_standby_names = %s, one standby in sync", names)
}

// logInternalErrors logs the servers' own account of their 500s.
func logInternalErrors(t *testing.T, ds []*daiban) {
	for _, d := range ds {
		b, _ := os.ReadFile(d.log)
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"msg":"request failed"`) && !strings.Contains(line, "context canceled") && n < 10 {
				t.Logf("%s: %s", d.addr, line)
				n++
			}
		}
	}
}
