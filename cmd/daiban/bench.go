package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/cmd/daiban/loadgen"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/users"
)

// benchFlags are daiban bench's options.
type benchFlags struct {
	workers  int
	duration time.Duration
	addr     string // a running server; "" starts one in this process
	pid      int    // with addr: the process whose peak memory is read
}

// cmdBench drives the HTTP API with concurrent simulated agents through
// whole case lifecycles and compares the server's action rate with the
// database's bare transaction rate (see package loadgen).
func cmdBench(ctx context.Context, cfg config, args []string) error {
	f, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	logger := cfg.quietLogger()
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	townships, err := benchTownships(ctx, db)
	if err != nil {
		return err
	}
	svc := users.NewService(db.Pool, ledger.RecordAccount)
	agents, err := enableBenchAgents(ctx, svc, f.workers, townships)
	if err != nil {
		return err
	}
	defer disableBenchAgents(ctx, svc, agents)
	applicants, err := benchApplicants()
	if err != nil {
		return err
	}

	lc := loadgen.Config{Workers: f.workers, Duration: f.duration, Agents: agents, Applicants: applicants, Progress: os.Stdout}
	if f.addr != "" {
		benchRemote(&lc, f.addr, f.pid)
	} else {
		stop, err := benchInProcess(ctx, cfg, db, logger, &lc)
		if err != nil {
			return err
		}
		defer stop()
	}

	// The bare side works as the database owner, which may create its
	// scratch tables.
	owner, err := benchOwnerPool(ctx, db.URL, f.workers)
	if err != nil {
		return err
	}
	defer owner.Close()
	lc.BarePool = owner

	fmt.Printf("daiban bench：%d 个模拟代办员，服务端与数据库裸事务各测 %s（交替分段），服务地址 %s，数据库 %s\n", f.workers, f.duration, lc.BaseURL, redactURL(db.URL))
	return runBench(ctx, lc)
}

func parseBenchFlags(args []string) (benchFlags, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	workers := fs.Int("workers", 8, "并发模拟代办员数")
	duration := fs.Duration("duration", 30*time.Second, "服务端压测时长（裸事务另测同样时长）")
	addr := fs.String("addr", "", "压测已运行的服务（如 http://127.0.0.1:8080）；不填则在本进程内启动服务")
	pid := fs.Int("pid", 0, "与 --addr 同用：读取该进程的峰值内存（VmHWM）")
	if err := parseFlags(fs, args); err != nil {
		return benchFlags{}, err
	}
	if *workers < 1 || *workers > 1000 {
		return benchFlags{}, errors.New("--workers 应在 1 到 1000 之间")
	}
	if *duration <= 0 {
		return benchFlags{}, errors.New("--duration 应为正数")
	}
	return benchFlags{workers: *workers, duration: *duration, addr: *addr, pid: *pid}, nil
}

// benchTownships loads the demo county when this database has none yet
// and returns its townships, where the bench agents work.
func benchTownships(ctx context.Context, db *database) ([]string, error) {
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM regions WHERE level = 'township'").Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		created, err := demo.Load(ctx, db.Pool)
		if err != nil {
			return nil, err
		}
		printAccounts(os.Stdout, created)
	}
	rs, err := demo.Regions()
	if err != nil {
		return nil, err
	}
	var townships []string
	for _, r := range rs {
		if r.Level == "township" {
			townships = append(townships, r.Code)
		}
	}
	return townships, nil
}

// enableBenchAgents creates or re-enables the bench agents. They get a
// fresh random password each run and are disabled again at its end (see
// disableBenchAgents), so no account with a known password is left usable
// in the database.
// benchActor is who the ledger names for the bench agents' changes.
var benchActor = users.Actor{Username: "system:bench"}

func enableBenchAgents(ctx context.Context, svc *users.Service, workers int, townships []string) ([]loadgen.Credential, error) {
	password := demo.NewPassword()
	agents := make([]loadgen.Credential, workers)
	for i := range agents {
		u := loadgen.Credential{Username: fmt.Sprintf("bench.town%d", i+1), Password: password, Region: townships[i%len(townships)]}
		_, err := svc.Create(ctx, benchActor, users.NewUser{Username: u.Username, Name: fmt.Sprintf("压测代办员%d", i+1), Role: policies.RoleTownshipAgent, Region: u.Region, Password: u.Password})
		if err != nil && !strings.Contains(err.Error(), "已存在") {
			return nil, fmt.Errorf("创建压测用户 %s：%w", u.Username, err)
		}
		if err != nil { // exists: its township is whatever it was made with
			enabled := false
			got, err := svc.Update(ctx, benchActor, u.Username, users.Update{Password: &password, Disabled: &enabled})
			if err != nil {
				return nil, fmt.Errorf("重置压测用户 %s：%w", u.Username, err)
			}
			u.Region = got.Region
		}
		agents[i] = u
	}
	return agents, nil
}

// disableBenchAgents disables the bench agents, even when the run was
// interrupted (Ctrl-C).
func disableBenchAgents(ctx context.Context, svc *users.Service, agents []loadgen.Credential) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	disabled := true
	for _, u := range agents {
		if _, err := svc.Update(dctx, benchActor, u.Username, users.Update{Disabled: &disabled}); err != nil {
			fmt.Fprintf(os.Stderr, "daiban bench：无法停用压测用户 %s：%v\n", u.Username, message(err))
		}
	}
	fmt.Printf("压测用户 bench.town1…%d 已停用（下次压测时重新启用并更换密码）\n", len(agents))
}

// benchApplicants are the demo people who apply in person.
func benchApplicants() ([]loadgen.Applicant, error) {
	people, err := demo.People()
	if err != nil {
		return nil, err
	}
	var applicants []loadgen.Applicant
	for _, p := range people {
		if p.Kind == "person" {
			applicants = append(applicants, loadgen.Applicant{Kind: p.Kind, Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone})
		}
	}
	return applicants, nil
}

// benchRemote aims the run at a server already running at addr; its peak
// memory is read from process pid when given.
func benchRemote(lc *loadgen.Config, addr string, pid int) {
	lc.BaseURL = addr
	if pid > 0 {
		lc.PeakRSS, lc.RSSNote = loadgen.PidPeakRSS(pid), fmt.Sprintf("进程 %d 的 VmHWM", pid)
		lc.ResetPeak = func() error { return loadgen.ResetPeak(fmt.Sprintf("/proc/%d/clear_refs", pid)) }
	} else {
		lc.RSSNote = "服务在 --addr，未读取其内存；加 --pid 读取该进程的 VmHWM"
	}
}

// benchInProcess starts the server in this process on a free loopback
// port and aims the run at it; stop ends it.
func benchInProcess(ctx context.Context, cfg config, db *database, logger *slog.Logger, lc *loadgen.Config) (stop func(), err error) {
	if !sealKeysExist(cfg.KeyDir) {
		if err := pdf.InitKeys(cfg.KeyDir, cfg.centerName()); err != nil {
			return nil, err
		}
	}
	center := app.DefaultCenter
	if cfg.CenterName != "" {
		center.Name = cfg.CenterName
	}
	srv := httptest.NewUnstartedServer(nil) // loopback, a free port
	center.BaseURL = "http://" + srv.Listener.Addr().String()
	// The load generator signs from one address: no public rate limit.
	a, err := app.New(ctx, app.Options{Center: center, FontDirs: cfg.FontDirs, Pool: db.Pool, Logger: logger, KeyDir: cfg.KeyDir, Origin: origin,
		Public: app.PublicOptions{RatePerSecond: 1e6, RateBurst: 1e6}})
	if err != nil {
		srv.Close()
		return nil, err
	}
	srv.Config.Handler = a.HTTP.Echo
	srv.Start()
	runCtx, cancel := context.WithCancel(ctx)
	done := a.Start(runCtx)
	lc.BaseURL = srv.URL
	lc.PeakRSS, lc.ResetPeak = loadgen.SelfPeakRSS, loadgen.ResetSelfPeak
	lc.RSSNote = "本进程的 VmHWM：进程内服务加压测端；PostgreSQL 为独立进程，不计入"
	return func() {
		cancel()
		<-done
		srv.Close()
	}, nil
}

// benchOwnerPool connects as the database owner, with a connection per
// worker.
func benchOwnerPool(ctx context.Context, dbURL string, workers int) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	pcfg.MaxConns = int32(workers) + 1
	return pgxpool.NewWithConfig(ctx, pcfg)
}

// runBench runs the load and prints what was measured.
func runBench(ctx context.Context, lc loadgen.Config) error {
	rep, err := loadgen.Run(ctx, lc)
	if err != nil && rep.Requests == 0 {
		return err // nothing measured (e.g. the agents could not sign in)
	}
	rep.Print(os.Stdout)
	if errors.Is(err, context.Canceled) {
		return nil // Ctrl-C: what was measured is printed
	}
	return err
}

// redactURL shows a database URL without its password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "（DATABASE_URL 所指数据库）"
	}
	return u.Redacted()
}
