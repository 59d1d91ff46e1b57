// Package loadgen drives daiban's HTTP API with concurrent simulated
// agents, each taking cases through their whole lifecycle (create, review,
// agreement signed by agent and applicant, progress, results, handover
// signed by the applicant, evaluation), and measures per-action latency and
// throughput. In the same run it measures the database's bare rate for an
// equivalent transaction (BEGIN; UPDATE one row; INSERT one row; COMMIT)
// with the same number of workers, in alternating slices, so that load from
// anything else on the machine falls on both alike.
package loadgen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/width"
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
}

// ActionStats are one action's numbers.
type ActionStats struct {
	Name          string
	Count, Errors int
	PerSecond     float64
	P50, P95, P99 time.Duration
}

// Report is a run's result.
type Report struct {
	Workers        int
	ServerElapsed  time.Duration // time the server's side ran (slices, drained)
	BareElapsed    time.Duration
	Actions        []ActionStats
	Requests       int // server requests, logins excluded
	ActionRate     float64
	CasesCompleted int
	CasesStarted   int
	BareTx         int64
	BareRate       float64 // tx/s; 0 when not measured
	Ratio          float64 // ActionRate / BareRate
	PeakRSS        int64   // bytes; 0 when not measured
	SignInPeakRSS  int64   // peak up to the moment every worker had signed in (with ResetPeak)
	RSSNote        string
	ErrorSamples   []string
}

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

// Run performs the benchmark until cfg.Duration has been spent on each
// side or ctx ends; requests in flight are finished, not cut.
func Run(ctx context.Context, cfg Config) (Report, error) {
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

	rec := &recorder{}
	var signInPeak atomic.Int64
	rec.signIn.Add(cfg.Workers)
	// Workers take the gate's read side for each request; the controller
	// takes the write side to pause them between slices, which waits for
	// the requests in flight.
	var gate sync.RWMutex
	gate.Lock()
	var stopped atomic.Bool
	runID := time.Now().UnixNano()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := &agent{cfg: &cfg, rec: rec, gate: &gate, stopped: &stopped, sig: sig,
				cred: cfg.Agents[w%len(cfg.Agents)], worker: w, runID: runID, first: true}
			a.loop(ctx)
		}()
	}

	// Progress: a line a second.
	start := time.Now()
	phase := atomic.Value{}
	phase.Store("登录")
	progDone, progStop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progDone)
		if cfg.Progress == nil {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := int64(0)
		for {
			select {
			case <-t.C:
				n := rec.reqs.Load()
				extra := ""
				if bare != nil {
					extra = fmt.Sprintf("，裸事务 %d", bare.n.Load())
				}
				fmt.Fprintf(cfg.Progress, "  %5.0f 秒  [%s]  已完成案件 %d，每秒请求 %d%s\n", time.Since(start).Seconds(), phase.Load(), rec.done.Load(), n-last, extra)
				last = n
			case <-progStop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()

	// Every worker signs in before the clock starts: sign-in hashes the
	// password, a burst that is reported apart from the lifecycle load.
	rec.signIn.Wait()
	rec.mu.Lock()
	signInErr := rec.signInErr
	rec.mu.Unlock()
	if signInErr == nil && cfg.PeakRSS != nil && cfg.ResetPeak != nil {
		if v, err := cfg.PeakRSS(); err == nil && cfg.ResetPeak() == nil {
			signInPeak.Store(v)
		}
	}
	var rep Report
	slice := cfg.Duration / time.Duration(cfg.Rounds)
	// No timed slices when an agent could not sign in.
	for i := 0; signInErr == nil && i < cfg.Rounds && ctx.Err() == nil; i++ {
		phase.Store("服务端")
		t0 := time.Now()
		gate.Unlock()
		sleep(ctx, slice)
		gate.Lock() // drains the requests in flight
		rep.ServerElapsed += time.Since(t0)
		if bare != nil && ctx.Err() == nil {
			phase.Store("裸事务")
			rep.BareElapsed += bare.run(ctx, slice)
		}
	}
	stopped.Store(true)
	gate.Unlock()
	wg.Wait()
	close(progStop)
	<-progDone
	if signInErr != nil {
		return Report{Workers: cfg.Workers}, signInErr
	}

	rep.Workers = cfg.Workers
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
		if name != ActLogin {
			rep.Requests += len(ss)
		}
		if secs > 0 {
			st.PerSecond = float64(st.Count) / secs
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		st.P50, st.P95, st.P99 = pct(ds, 50), pct(ds, 95), pct(ds, 99)
		rep.Actions = append(rep.Actions, st)
	}
	if secs > 0 {
		rep.ActionRate = float64(rep.Requests) / secs
	}
	if bare != nil {
		rep.BareTx = bare.n.Load()
		if rep.BareElapsed > 0 {
			rep.BareRate = float64(rep.BareTx) / rep.BareElapsed.Seconds()
		}
		if rep.BareRate > 0 {
			rep.Ratio = rep.ActionRate / rep.BareRate
		}
	}
	if cfg.PeakRSS != nil {
		if v, err := cfg.PeakRSS(); err == nil {
			rep.PeakRSS, rep.RSSNote = v, cfg.RSSNote
			rep.SignInPeakRSS = signInPeak.Load()
		} else {
			rep.RSSNote = "无法读取：" + err.Error()
		}
	}
	return rep, ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
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

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "daiban bench：%d 个模拟代办员，服务端 %.1f 秒，裸事务 %.1f 秒\n", r.Workers, r.ServerElapsed.Seconds(), r.BareElapsed.Seconds())
	fmt.Fprintf(w, "%s %s %s %s %s %s %s\n", padRight("操作", 16), padLeft("次数", 7), padLeft("每秒", 9), padLeft("p50 毫秒", 9), padLeft("p95 毫秒", 9), padLeft("p99 毫秒", 9), padLeft("出错", 6))
	for _, a := range r.Actions {
		name := a.Name
		if l, ok := actionLabels[a.Name]; ok {
			name = l
		}
		fmt.Fprintf(w, "%s %7d %9.1f %9.1f %9.1f %9.1f %6d\n", padRight(name, 16), a.Count, a.PerSecond, ms(a.P50), ms(a.P95), ms(a.P99), a.Errors)
	}
	fmt.Fprintf(w, "完成案件：%d 件（开始 %d 件；其余因压测结束或出错未走完）\n", r.CasesCompleted, r.CasesStarted)
	fmt.Fprintf(w, "服务端：%d 个请求，每秒 %.1f 个（不含登录：每个模拟代办员在计时前登录一次）\n", r.Requests, r.ActionRate)
	if r.BareRate > 0 {
		fmt.Fprintf(w, "数据库裸事务（BEGIN；UPDATE 1 行；INSERT 1 行；COMMIT），同样并发：%d 个，每秒 %.1f 个\n", r.BareTx, r.BareRate)
		fmt.Fprintf(w, "服务端请求速率 / 裸事务速率：%.3f\n", r.Ratio)
	} else {
		fmt.Fprintln(w, "数据库裸事务：未测")
	}
	if r.PeakRSS > 0 && r.SignInPeakRSS > 0 {
		fmt.Fprintf(w, "峰值内存（RSS）：全程 %.1f MiB；%.1f MiB 至 %d 个模拟代办员全部登录，之后 %.1f MiB（%s）\n",
			float64(max(r.PeakRSS, r.SignInPeakRSS))/(1<<20), float64(r.SignInPeakRSS)/(1<<20), r.Workers, float64(r.PeakRSS)/(1<<20), r.RSSNote)
	} else if r.PeakRSS > 0 {
		fmt.Fprintf(w, "峰值内存（RSS）：%.1f MiB（%s）\n", float64(r.PeakRSS)/(1<<20), r.RSSNote)
	} else {
		fmt.Fprintf(w, "峰值内存（RSS）：未测（%s）\n", r.RSSNote)
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "出错：%s\n", e)
	}
}

// actionLabels name the measured actions in the report.
var actionLabels = map[string]string{
	ActLogin: "登录", ActCreate: "受理登记", ActGet: "查看案件", ActReview: "材料初审",
	ActAgreement: "生成委托协议", ActAgentSign: "代办员签名", ActApplicantSign: "申请人签署协议",
	ActProgress: "办理进展", ActResults: "办理结果", ActHandover: "交付核验",
	ActReceiptSign: "申请人签收", ActEvaluate: "评价",
}

// columns is how many terminal columns s takes: East Asian wide and
// fullwidth characters take two.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n++
		if k := width.LookupRune(r).Kind(); k == width.EastAsianWide || k == width.EastAsianFullwidth {
			n++
		}
	}
	return n
}

func padRight(s string, n int) string { return s + strings.Repeat(" ", max(0, n-columns(s))) }
func padLeft(s string, n int) string  { return strings.Repeat(" ", max(0, n-columns(s))) + s }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// signaturePNG draws a small signature stroke once for every signing.
func signaturePNG() (string, error) {
	img := image.NewNRGBA(image.Rect(0, 0, 200, 80))
	for x := 10; x < 190; x++ {
		y := 40 + (x*7)%30 - 15
		for d := -1; d <= 1; d++ {
			img.Set(x, y+d, color.NRGBA{0, 0, 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// agent is one simulated worker.
type agent struct {
	cfg     *Config
	rec     *recorder
	gate    *sync.RWMutex
	stopped *atomic.Bool
	sig     string
	cred    Credential
	worker  int
	runID   int64
	token   string
	n       int
	first   bool // the first sign-in, before the timed slices: not gated
}

var errStop = errors.New("stopped")

// httpError is an unexpected answer.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string {
	b := strings.TrimSpace(e.body)
	if len(b) > 200 {
		b = strings.ToValidUTF8(b[:200], "") + "…"
	}
	return fmt.Sprintf("HTTP 状态 %d：%s", e.status, b)
}

// do sends one request while the gate is open and records its latency
// under action; out, when not nil, receives the decoded JSON answer.
func (a *agent) do(ctx context.Context, action, method, path string, body any, header map[string]string, want int, out any) error {
	if !a.first {
		a.gate.RLock()
		defer a.gate.RUnlock()
	}
	if a.stopped.Load() || ctx.Err() != nil {
		return errStop
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.BaseURL+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := a.cfg.Client.Do(req)
	if err == nil {
		var data []byte
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != want {
			err = &httpError{resp.StatusCode, string(data)}
		}
		if err == nil && out != nil {
			err = json.Unmarshal(data, out)
		}
	}
	if ctx.Err() != nil {
		return errStop
	}
	a.rec.add(action, time.Since(t0), err)
	return err
}

func (a *agent) loop(ctx context.Context) {
	for !a.stopped.Load() && ctx.Err() == nil {
		if a.token == "" {
			var r struct {
				Token string `json:"token"`
			}
			err := a.do(ctx, ActLogin, http.MethodPost, "/api/v1/login", map[string]string{"username": a.cred.Username, "password": a.cred.Password}, nil, http.StatusOK, &r)
			if a.first {
				a.first = false
				if err != nil && err != errStop {
					a.rec.mu.Lock()
					if a.rec.signInErr == nil {
						a.rec.signInErr = fmt.Errorf("模拟代办员 %s 无法登录 %s（%v）：请确认 bench 与该服务使用同一个数据库（DATABASE_URL 或 DAIBAN_DATA）", a.cred.Username, a.cfg.BaseURL, err)
					}
					a.rec.mu.Unlock()
				}
				a.rec.signIn.Done()
			}
			if err != nil {
				if err == errStop {
					return
				}
				sleep(ctx, time.Second) // wrong password or server away: do not spin
				continue
			}
			a.token = r.Token
		}
		err := a.lifecycle(ctx)
		if err == errStop {
			return
		}
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusUnauthorized {
			a.token = ""
		}
	}
}

type caseView struct {
	ID        int64 `json:"id"`
	Version   int   `json:"version"`
	Materials []struct {
		Code             string `json:"code"`
		RequiredOriginal bool   `json:"required_original"`
	} `json:"materials"`
	HandoverItems []struct {
		ID int64 `json:"id"`
	} `json:"handover_items"`
	State string `json:"state"`
}

type signingLink struct {
	SigningURL string `json:"signing_url"`
}

type signStatus struct {
	CaseState string `json:"case_state"`
}

func ifMatch(v int) map[string]string {
	return map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(v))}
}

// lifecycle takes one case from creation to evaluation.
func (a *agent) lifecycle(ctx context.Context) error {
	a.n++
	p := a.cfg.Applicants[(a.worker*7919+a.n)%len(a.cfg.Applicants)]
	last4 := p.IDNumber[len(p.IDNumber)-4:]
	var c caseView
	key := map[string]string{"Idempotency-Key": fmt.Sprintf("bench-%d-%d-%d", a.runID, a.worker, a.n)}
	if err := a.do(ctx, ActCreate, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": a.cred.Region, "channel": "counter", "matter": a.cfg.Matter,
		"applicant": map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone},
		"summary":   "压测案件：个体工商户设立登记代办",
	}, key, http.StatusCreated, &c); err != nil {
		return err
	}
	a.rec.started.Add(1)
	path := fmt.Sprintf("/api/v1/cases/%d", c.ID)
	act := func(action string, v int, body any) error {
		return a.do(ctx, action, http.MethodPost, path+"/actions/"+action, body, ifMatch(v), http.StatusOK, &c)
	}
	if err := a.do(ctx, ActGet, http.MethodGet, path, nil, nil, http.StatusOK, &c); err != nil {
		return err
	}
	var mats []map[string]any
	for _, m := range c.Materials {
		mats = append(mats, map[string]any{"code": m.Code, "received": true, "original": m.RequiredOriginal, "pages": 1})
	}
	if err := act(ActReview, c.Version, map[string]any{"result": "accept", "materials": mats}); err != nil {
		return err
	}
	var link signingLink
	if err := a.do(ctx, ActAgreement, http.MethodPost, path+"/agreement", nil, nil, http.StatusCreated, &link); err != nil {
		return err
	}
	if err := a.do(ctx, ActAgentSign, http.MethodPost, path+"/agreement/signatures", map[string]string{"image_png": a.sig}, nil, http.StatusOK, nil); err != nil {
		return err
	}
	var st signStatus
	if err := a.do(ctx, ActApplicantSign, http.MethodPost, "/api/v1/sign/"+strings.TrimPrefix(link.SigningURL, "/sign/"),
		map[string]string{"image_png": a.sig, "id_last4": last4}, nil, http.StatusOK, &st); err != nil {
		return err
	}
	if st.CaseState != "delegated" {
		return a.fail(ActApplicantSign, "签署协议后案件状态为 %q，应为 delegated", st.CaseState)
	}
	// The signature moved the case on: read its version back, as the
	// agent's screen does.
	if err := a.do(ctx, ActGet, http.MethodGet, path, nil, nil, http.StatusOK, &c); err != nil {
		return err
	}
	if err := act(ActProgress, c.Version, map[string]any{"note": "材料已送达审批局，窗口受理中", "step": "受理"}); err != nil {
		return err
	}
	if err := act(ActProgress, c.Version, map[string]any{"note": "审批局已审核通过，等待制证"}); err != nil {
		return err
	}
	if err := act(ActResults, c.Version, map[string]any{"items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": fmt.Sprintf("92370323MA%08d", a.n%100000000)}}}); err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(c.HandoverItems))
	for _, it := range c.HandoverItems {
		items = append(items, map[string]any{"id": it.ID, "verified": true})
	}
	if err := a.do(ctx, ActHandover, http.MethodPost, path+"/handover", map[string]any{"items": items}, nil, http.StatusCreated, &link); err != nil {
		return err
	}
	if err := a.do(ctx, ActReceiptSign, http.MethodPost, "/api/v1/sign/"+strings.TrimPrefix(link.SigningURL, "/sign/"),
		map[string]string{"image_png": a.sig, "id_last4": last4}, nil, http.StatusOK, &st); err != nil {
		return err
	}
	if st.CaseState != "closed" {
		return a.fail(ActReceiptSign, "签收后案件状态为 %q，应为 closed", st.CaseState)
	}
	if err := a.do(ctx, ActGet, http.MethodGet, path, nil, nil, http.StatusOK, &c); err != nil {
		return err
	}
	if err := act(ActEvaluate, c.Version, map[string]any{"rating": 5, "comment": "办事很方便"}); err != nil {
		return err
	}
	a.rec.done.Add(1)
	return nil
}

// fail records a wrong answer that came with a good status.
func (a *agent) fail(action, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	a.rec.mu.Lock()
	if len(a.rec.errs) < 10 {
		a.rec.errs = append(a.rec.errs, action+": "+err.Error())
	}
	a.rec.mu.Unlock()
	return err
}

// bareSide runs the equivalent bare transaction.
type bareSide struct {
	pool    *pgxpool.Pool
	workers int
	n       atomic.Int64
	errs    atomic.Int64
}

const (
	bareRows = "loadgen_bare_rows"
	bareLog  = "loadgen_bare_log"
)

func newBare(ctx context.Context, pool *pgxpool.Pool, workers int) (*bareSide, error) {
	_, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+bareRows+`, `+bareLog+`;
		CREATE TABLE `+bareRows+` (id int PRIMARY KEY, n int NOT NULL);
		CREATE TABLE `+bareLog+` (id bigserial PRIMARY KEY, row_id int NOT NULL, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("压测：无法创建裸事务用表：%w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+bareRows+` SELECT g, 0 FROM generate_series(1, $1::int) g`, workers); err != nil {
		return nil, err
	}
	return &bareSide{pool: pool, workers: workers}, nil
}

func (b *bareSide) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = b.pool.Exec(ctx, `DROP TABLE IF EXISTS `+bareRows+`, `+bareLog)
}

// run runs the workers for d and returns the time it took.
func (b *bareSide) run(ctx context.Context, d time.Duration) time.Duration {
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < b.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `UPDATE `+bareRows+` SET n = n + 1 WHERE id = $1`, w+1); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO `+bareLog+` (row_id, note) VALUES ($1, $2)`, w+1, "材料已送达审批局，窗口受理中")
					return err
				})
				if err != nil {
					b.errs.Add(1)
					continue
				}
				b.n.Add(1)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
