package faults_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/loadgen"
	"github.com/daiban/daiban/sql/pgserver/pgcluster"
)

// The helpers of the failover and restore tests: a pg_auto_failover
// formation on loopback, two daiban instances on it, and the load
// generator's answers collected with their times.

// startCluster starts a formation in a short temporary directory. It
// skips only where pg_auto_failover is not installed and CI's
// DAIBAN_REQUIRE_FAULTS is unset; CI installs it (./dev's NEEDS).
func startCluster(t *testing.T, opt pgcluster.Options) *pgcluster.Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "ha")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	opt.Dir = dir
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	c, err := pgcluster.Start(ctx, opt)
	if errors.Is(err, pgcluster.ErrNoAutoFailover) && os.Getenv("DAIBAN_REQUIRE_FAULTS") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logTails(t, dir)
		}
		c.Stop()
	})
	t.Logf("pg_auto_failover formation (monitor, primary, synchronous secondary) up in %.1f s", time.Since(begin).Seconds())
	return c
}

// logTails logs the end of each node's pg_autoctl log.
func logTails(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("%s:\n%s", filepath.Base(l), b)
	}
}

// twoInstances starts two "daiban serve" on url sharing one key
// directory, logging at info (the notice sender's lines are counted).
func twoInstances(t *testing.T, bin, url string) []*daiban {
	t.Helper()
	var ds []*daiban
	for i := range 2 {
		d := newDaiban(t, bin, url)
		d.env = withEnv(d.env, "DAIBAN_LOG_LEVEL", "info")
		if i > 0 {
			d.env = withEnv(d.env, "DAIBAN_KEYS", envOf(ds[0].env, "DAIBAN_KEYS"))
		}
		d.start(t)
		ds = append(ds, d)
	}
	return ds
}

// answers collects the load generator's answers.
type answers struct {
	mu  sync.Mutex
	all []loadgen.Answer
}

func (a *answers) add(x loadgen.Answer) {
	a.mu.Lock()
	a.all = append(a.all, x)
	a.mu.Unlock()
}

func (a *answers) snapshot() []loadgen.Answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]loadgen.Answer(nil), a.all...)
}

// acks turns the acknowledged answers into checkDurable's form.
func acksOf(as []loadgen.Answer) []ack {
	var out []ack
	for _, a := range as {
		if a.Acknowledged() {
			out = append(out, ack{id: a.CaseID, version: a.Version, action: a.Action})
		}
	}
	return out
}

// startLoad runs the load generator against each instance, one worker
// per agent, until ctx ends; wait returns when every run has.
func startLoad(ctx context.Context, t *testing.T, ds []*daiban, agents []agent, col *answers) (wait func()) {
	t.Helper()
	ps, err := people()
	if err != nil {
		t.Fatal(err)
	}
	var apps []loadgen.Applicant
	for _, p := range ps {
		apps = append(apps, loadgen.Applicant{Kind: p.Kind, Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone})
	}
	var wg sync.WaitGroup
	per := len(agents) / len(ds)
	for i, d := range ds {
		var creds []loadgen.Credential
		for _, a := range agents[i*per : (i+1)*per] {
			creds = append(creds, loadgen.Credential{Username: a.username, Password: password, Region: a.region})
		}
		wg.Go(func() {
			_, err := loadgen.Run(ctx, loadgen.Config{BaseURL: "http://" + d.addr, Workers: len(creds), Duration: 10 * time.Minute,
				Rounds: 1, Agents: creds, Applicants: apps, Observe: col.add,
				Client: &http.Client{Timeout: 30 * time.Second}})
			if err != nil && ctx.Err() == nil {
				t.Errorf("load generator on %s: %v", d.addr, err)
			}
		})
	}
	return wg.Wait
}

// healthPoll records /healthz answers of every instance until ctx ends.
type healthSample struct {
	at     time.Time
	addr   string
	status int
	err    error
}

func pollHealth(ctx context.Context, ds []*daiban) (stop func() []healthSample) {
	var mu sync.Mutex
	var out []healthSample
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() {
			for ctx.Err() == nil {
				st, _, err := d.get("/healthz", 5*time.Second)
				mu.Lock()
				out = append(out, healthSample{time.Now(), d.addr, st, err})
				mu.Unlock()
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
	return func() []healthSample {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// keepCheckpoint waits for a signed checkpoint and writes it to a file
// the supervisor keeps; it returns the file and the checkpoint's size.
func keepCheckpoint(t *testing.T, d *daiban, name string) (string, int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := d.runStdout(t, "ledger", "checkpoint")
		if err == nil {
			f := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(f, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
			return f, checkpointSize(t, out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("daiban ledger checkpoint: %v\n%s", err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var sizeLine = regexp.MustCompile(`(?m)^([0-9]+)$`)

// checkpointSize reads the tree size, the checkpoint note's second line.
func checkpointSize(t *testing.T, note string) int64 {
	t.Helper()
	lines := strings.SplitN(note, "\n", 3)
	if len(lines) < 3 || !sizeLine.MatchString(lines[1]) {
		t.Fatalf("not a checkpoint note:\n%s", note)
	}
	var n int64
	fmt.Sscan(lines[1], &n)
	return n
}

// runStdout runs a one-shot daiban command and returns its standard
// output alone.
func (d *daiban) runStdout(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = d.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// noticesSent counts the "notice sent" log lines per notice id in the
// instances' logs.
func noticesSent(t *testing.T, ds []*daiban) map[int64]int {
	t.Helper()
	re := regexp.MustCompile(`"msg":"notice sent","notice_id":([0-9]+)`)
	out := map[int64]int{}
	for _, d := range ds {
		b, err := os.ReadFile(d.log)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			var id int64
			fmt.Sscan(string(m[1]), &id)
			out[id]++
		}
	}
	return out
}

// statusCounts summarises answers that were not acknowledgements.
func statusCounts(as []loadgen.Answer) string {
	m := map[string]int{}
	for _, a := range as {
		if a.Err != nil {
			m[fmt.Sprintf("%d/%s", a.Status, a.Code)]++
		}
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// pgclusterOptions are the formation's options for the failover test.
func pgclusterOptions() pgcluster.Options { return pgcluster.Options{} }
