// Package loadgen drives daiban's HTTP API with concurrent simulated
// agents, each taking cases through their whole lifecycle (create, review,
// agreement signed by agent and applicant, progress, results, handover
// signed by the applicant, evaluation), and measures per-action latency and
// throughput. In the same run it measures the database's bare rate for an
// equivalent transaction (BEGIN; UPDATE one row; INSERT one row; COMMIT)
// with the same number of workers, in alternating slices, so that load from
// anything else on the machine falls on both alike.
//
// Files by job: loadgen.go configures and runs the timed slices, agent.go
// and lifecycle.go are the simulated agents, bare.go is the bare
// transaction, stats.go and report.go turn samples into the report, and
// rss.go reads peak memory.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The actions of one lifecycle, in order, as they are reported.
const (
	ActLogin         = "login"
	ActCreate        = "create"
	ActGet           = "get"
	ActReview        = "review"
	ActAgreement     = "agreement"
	ActAgentSign     = "agent_sign"
	ActApplicantSign = "applicant_sign"
	ActProgress      = "progress"
	ActResults       = "results"
	ActHandover      = "handover"
	ActReceiptSign   = "receipt_sign"
	ActEvaluate      = "evaluate"
)

// Actions lists every reported action in lifecycle order.
var Actions = []string{ActLogin, ActCreate, ActGet, ActReview, ActAgreement, ActAgentSign, ActApplicantSign,
	ActProgress, ActResults, ActHandover, ActReceiptSign, ActEvaluate}

// Credential is an agent the workers sign in as.
type Credential struct {
	Username, Password string
	Region             string // where its cases are opened (its township)
}

// Applicant is a demo person: the ID number's last four characters are
// asked when the applicant signs through the link.
type Applicant struct {
	Kind, Name, IDNumber, Phone string
}

// Config is one run.
type Config struct {
	BaseURL  string        // the server, e.g. http://127.0.0.1:8080
	Workers  int           // concurrent agents (default 8)
	Duration time.Duration // time given to the server's side (default 30s); the bare side gets as much
	Rounds   int           // alternating slices per side (default 5)
	Matter   string        // matter of the cases (default GT001)
	// Agents: worker i signs in as Agents[i%len(Agents)].
	Agents     []Credential
	Applicants []Applicant
	// BarePool, when set, is used for the bare transaction; it must be able
	// to create tables (the database owner). Nil skips the bare side.
	BarePool *pgxpool.Pool
	// Progress receives a line every second (nil: none).
	Progress io.Writer
	// PeakRSS returns the server's peak resident set in bytes (nil: not
	// measured); RSSNote says whose memory it is.
	PeakRSS func() (int64, error)
	RSSNote string
	// ResetPeak, when set, resets the peak that PeakRSS reads; it is called
	// once every worker has signed in, so the report tells the sign-in
	// burst (password hashing) from the steady lifecycle load.
	ResetPeak func() error
	Client    *http.Client
	// Observe, when set, is told every answer (from any worker, so it
	// must be safe for concurrent use).
	Observe func(Answer)
}

// withDefaults fills in what the caller left zero.
func (cfg Config) withDefaults() Config {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 5
	}
	if cfg.Matter == "" {
		cfg.Matter = "GT001"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Workers * 2, MaxIdleConns: cfg.Workers * 2}}
	}
	return cfg
}

// Run performs the benchmark until cfg.Duration has been spent on each
// side or ctx ends; requests in flight are finished, not cut.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Agents) == 0 || len(cfg.Applicants) == 0 {
		return Report{}, errors.New("压测：没有可用的代办员或申请人")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	sig, err := signaturePNG()
	if err != nil {
		return Report{}, err
	}
	var bare *bareSide
	if cfg.BarePool != nil {
		if bare, err = newBare(ctx, cfg.BarePool, cfg.Workers); err != nil {
			return Report{}, err
		}
		defer bare.drop()
	}

	r := newRunner(&cfg, bare)
	r.startAgents(ctx, sig)
	progStop, progDone := r.progress(ctx)
	// Every worker signs in before the clock starts: sign-in hashes the
	// password, a burst that is reported apart from the lifecycle load.
	signInPeak, signInErr := r.waitSignIn()
	var rep Report
	// No timed slices when an agent could not sign in.
	if signInErr == nil {
		rep.ServerElapsed, rep.BareElapsed = r.slices(ctx)
	}
	r.stopAgents()
	close(progStop)
	<-progDone
	if signInErr != nil {
		return Report{Workers: cfg.Workers}, signInErr
	}
	r.summarize(&rep)
	cfg.readPeakRSS(&rep, signInPeak)
	return rep, ctx.Err()
}

// runner is one run in progress: the agents, the gate that pauses them
// between slices, and the phase the progress line names.
type runner struct {
	cfg  *Config
	bare *bareSide
	rec  *recorder
	// Workers take the gate's read side for each request; the controller
	// takes the write side to pause them between slices, which waits for
	// the requests in flight.
	gate    sync.RWMutex
	stopped atomic.Bool
	phase   atomic.Value
	agents  sync.WaitGroup
}

func newRunner(cfg *Config, bare *bareSide) *runner {
	r := &runner{cfg: cfg, bare: bare, rec: &recorder{}}
	r.phase.Store("登录")
	return r
}

// startAgents starts one agent per worker, the gate closed: each signs in
// once and then waits for the first timed slice.
func (r *runner) startAgents(ctx context.Context, sig string) {
	r.rec.signIn.Add(r.cfg.Workers)
	r.gate.Lock()
	runID := time.Now().UnixNano()
	for w := 0; w < r.cfg.Workers; w++ {
		r.agents.Add(1)
		go func() {
			defer r.agents.Done()
			a := &agent{cfg: r.cfg, rec: r.rec, gate: &r.gate, stopped: &r.stopped, sig: sig,
				cred: r.cfg.Agents[w%len(r.cfg.Agents)], worker: w, runID: runID, first: true}
			a.loop(ctx)
		}()
	}
}

// progress writes a line a second to cfg.Progress until stop is closed or
// ctx ends; done is closed when it has returned.
func (r *runner) progress(ctx context.Context) (stop, done chan struct{}) {
	start := time.Now()
	done, stop = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		if r.cfg.Progress == nil {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := int64(0)
		for {
			select {
			case <-t.C:
				n := r.rec.reqs.Load()
				extra := ""
				if r.bare != nil {
					extra = fmt.Sprintf("，裸事务 %d", r.bare.n.Load())
				}
				fmt.Fprintf(r.cfg.Progress, "  %5.0f 秒  [%s]  已完成案件 %d，每秒请求 %d%s\n", time.Since(start).Seconds(), r.phase.Load(), r.rec.done.Load(), n-last, extra)
				last = n
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return stop, done
}

// waitSignIn waits for every worker's first sign-in attempt. It returns
// the first failure, or else the peak memory of the sign-in burst (when
// it can be measured and reset).
func (r *runner) waitSignIn() (int64, error) {
	r.rec.signIn.Wait()
	r.rec.mu.Lock()
	signInErr := r.rec.signInErr
	r.rec.mu.Unlock()
	var peak int64
	if signInErr == nil && r.cfg.PeakRSS != nil && r.cfg.ResetPeak != nil {
		if v, err := r.cfg.PeakRSS(); err == nil && r.cfg.ResetPeak() == nil {
			peak = v
		}
	}
	return peak, signInErr
}

// slices alternates the server's side and the bare side, cfg.Rounds
// times, and returns the time each took.
func (r *runner) slices(ctx context.Context) (server, bare time.Duration) {
	slice := r.cfg.Duration / time.Duration(r.cfg.Rounds)
	for i := 0; i < r.cfg.Rounds && ctx.Err() == nil; i++ {
		r.phase.Store("服务端")
		t0 := time.Now()
		r.gate.Unlock()
		sleep(ctx, slice)
		r.gate.Lock() // drains the requests in flight
		server += time.Since(t0)
		if r.bare != nil && ctx.Err() == nil {
			r.phase.Store("裸事务")
			bare += r.bare.run(ctx, slice)
		}
	}
	return server, bare
}

// stopAgents lets the paused agents see that the run is over and waits
// for them.
func (r *runner) stopAgents() {
	r.stopped.Store(true)
	r.gate.Unlock()
	r.agents.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
