package loadgen

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type sample struct {
	action string
	d      time.Duration
	err    bool
}

type recorder struct {
	mu      sync.Mutex
	samples []sample
	errs    []string
	reqs    atomic.Int64
	signIn  sync.WaitGroup // each worker's first sign-in attempt
	// signInErr is the first failed first sign-in: the run stops, as an
	// agent that cannot sign in measures nothing.
	signInErr error
	done      atomic.Int64
	started   atomic.Int64
}

func (r *recorder) add(action string, d time.Duration, err error) {
	r.mu.Lock()
	r.samples = append(r.samples, sample{action, d, err != nil})
	if err != nil && len(r.errs) < 10 {
		r.errs = append(r.errs, action+": "+err.Error())
	}
	r.mu.Unlock()
	if action != ActLogin {
		r.reqs.Add(1)
	}
}

// summarize fills in rep from the recorded samples and the bare side's
// count; rep.ServerElapsed and rep.BareElapsed are already set.
func (r *runner) summarize(rep *Report) {
	rec := r.rec
	rep.Workers = r.cfg.Workers
	rep.CasesCompleted = int(rec.done.Load())
	rep.CasesStarted = int(rec.started.Load())
	rep.ErrorSamples = rec.errs
	by := map[string][]sample{}
	for _, s := range rec.samples {
		by[s.action] = append(by[s.action], s)
	}
	secs := rep.ServerElapsed.Seconds()
	for _, name := range Actions {
		ss := by[name]
		rep.Actions = append(rep.Actions, actionStats(name, ss, secs))
		if name != ActLogin {
			rep.Requests += len(ss)
		}
	}
	if secs > 0 {
		rep.ActionRate = float64(rep.Requests) / secs
	}
	if r.bare != nil {
		rep.BareTx = r.bare.n.Load()
		if rep.BareElapsed > 0 {
			rep.BareRate = float64(rep.BareTx) / rep.BareElapsed.Seconds()
		}
		if rep.BareRate > 0 {
			rep.Ratio = rep.ActionRate / rep.BareRate
		}
	}
}

// actionStats counts one action's samples and takes the percentiles of
// its successful ones over secs seconds of the server's side.
func actionStats(name string, ss []sample, secs float64) ActionStats {
	st := ActionStats{Name: name}
	var ds []time.Duration
	for _, s := range ss {
		if s.err {
			st.Errors++
			continue
		}
		ds = append(ds, s.d)
	}
	st.Count = len(ds)
	if secs > 0 {
		st.PerSecond = float64(st.Count) / secs
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	st.P50, st.P95, st.P99 = pct(ds, 50), pct(ds, 95), pct(ds, 99)
	return st
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := (len(ds)*p + 99) / 100
	if i > 0 {
		i--
	}
	return ds[i]
}

// readPeakRSS records the peak memory at the end of the run, with the
// sign-in burst's peak read earlier.
func (cfg *Config) readPeakRSS(rep *Report, signInPeak int64) {
	if cfg.PeakRSS == nil {
		return
	}
	if v, err := cfg.PeakRSS(); err == nil {
		rep.PeakRSS, rep.RSSNote = v, cfg.RSSNote
		rep.SignInPeakRSS = signInPeak
	} else {
		rep.RSSNote = "无法读取：" + err.Error()
	}
}
