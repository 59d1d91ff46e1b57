package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/users"
)

// cmdBench drives the HTTP API with concurrent simulated agents through
// whole case lifecycles and compares the server's action rate with the
// database's bare transaction rate (see package loadgen).
func cmdBench(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	workers := fs.Int("workers", 8, "并发模拟代办员数")
	duration := fs.Duration("duration", 30*time.Second, "服务端压测时长（裸事务另测同样时长）")
	addr := fs.String("addr", "", "压测已运行的服务（如 http://127.0.0.1:8080）；不填则在本进程内启动服务")
	pid := fs.Int("pid", 0, "与 --addr 同用：读取该进程的峰值内存（VmHWM）")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *workers < 1 || *workers > 1000 {
		return errors.New("--workers 应在 1 到 1000 之间")
	}
	if *duration <= 0 {
		return errors.New("--duration 应为正数")
	}
	logger := cfg.quietLogger()
	db, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	// The demo county, when this database has none yet.
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM regions WHERE level = 'township'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		created, err := demo.Load(ctx, db.Pool)
		if err != nil {
			return err
		}
		printAccounts(os.Stdout, created)
	}
	rs, err := demo.Regions()
	if err != nil {
		return err
	}
	var townships []string
	for _, r := range rs {
		if r.Level == "township" {
			townships = append(townships, r.Code)
		}
	}
	// The bench agents get a fresh random password each run and are
	// disabled again at its end, so no account with a known password is
	// left usable in the database.
	svc := users.NewService(db.Pool)
	password := demo.NewPassword()
	agents := make([]loadgen.Credential, *workers)
	for i := range agents {
		u := loadgen.Credential{Username: fmt.Sprintf("bench.town%d", i+1), Password: password, Region: townships[i%len(townships)]}
		_, err := svc.Create(ctx, users.NewUser{Username: u.Username, Name: fmt.Sprintf("压测代办员%d", i+1), Role: policies.RoleTownshipAgent, Region: u.Region, Password: u.Password})
		if err != nil && !strings.Contains(err.Error(), "已存在") {
			return fmt.Errorf("创建压测用户 %s：%w", u.Username, err)
		}
		if err != nil { // exists: its township is whatever it was made with
			enabled := false
			got, err := svc.Update(ctx, u.Username, users.Update{Password: &password, Disabled: &enabled})
			if err != nil {
				return fmt.Errorf("重置压测用户 %s：%w", u.Username, err)
			}
			u.Region = got.Region
		}
		agents[i] = u
	}
	defer func() {
		// Disable them even when the run was interrupted (Ctrl-C).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		disabled := true
		for _, u := range agents {
			if _, err := svc.Update(dctx, u.Username, users.Update{Disabled: &disabled}); err != nil {
				fmt.Fprintf(os.Stderr, "daiban bench：无法停用压测用户 %s：%v\n", u.Username, message(err))
			}
		}
		fmt.Printf("压测用户 bench.town1…%d 已停用（下次压测时重新启用并更换密码）\n", len(agents))
	}()
	people, err := demo.People()
	if err != nil {
		return err
	}
	var applicants []loadgen.Applicant
	for _, p := range people {
		if p.Kind == "person" {
			applicants = append(applicants, loadgen.Applicant{Kind: p.Kind, Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone})
		}
	}

	lc := loadgen.Config{Workers: *workers, Duration: *duration, Agents: agents, Applicants: applicants, Progress: os.Stdout}
	if *addr != "" {
		lc.BaseURL = *addr
		if *pid > 0 {
			lc.PeakRSS, lc.RSSNote = loadgen.PidPeakRSS(*pid), fmt.Sprintf("进程 %d 的 VmHWM", *pid)
			lc.ResetPeak = func() error { return loadgen.ResetPeak(fmt.Sprintf("/proc/%d/clear_refs", *pid)) }
		} else {
			lc.RSSNote = "服务在 --addr，未读取其内存；加 --pid 读取该进程的 VmHWM"
		}
	} else {
		if !sealKeysExist(cfg.KeyDir) {
			if err := pdf.InitKeys(cfg.KeyDir, "Yiyuan County Government Service Center"); err != nil {
				return err
			}
		}
		center := app.DefaultCenter
		if cfg.CenterName != "" {
			center.Name = cfg.CenterName
		}
		srv := httptest.NewUnstartedServer(nil) // loopback, a free port
		center.BaseURL = "http://" + srv.Listener.Addr().String()
		a, err := app.New(ctx, app.Options{Center: center, FontDirs: cfg.FontDirs, Pool: db.Pool, Logger: logger, KeyDir: cfg.KeyDir, Origin: origin})
		if err != nil {
			srv.Close()
			return err
		}
		srv.Config.Handler = a.HTTP.Echo
		srv.Start()
		defer srv.Close()
		runCtx, cancel := context.WithCancel(ctx)
		done := a.Start(runCtx)
		defer func() { cancel(); <-done }()
		lc.BaseURL = srv.URL
		lc.PeakRSS, lc.ResetPeak = loadgen.SelfPeakRSS, loadgen.ResetSelfPeak
		lc.RSSNote = "本进程的 VmHWM：进程内服务加压测端；PostgreSQL 为独立进程，不计入"
	}

	// The bare side works as the database owner, which may create its
	// scratch tables.
	pcfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(*workers) + 1
	owner, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer owner.Close()
	lc.BarePool = owner

	fmt.Printf("daiban bench：%d 个模拟代办员，服务端与数据库裸事务各测 %s（交替分段），服务地址 %s，数据库 %s\n", *workers, *duration, lc.BaseURL, redactURL(db.URL))
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
