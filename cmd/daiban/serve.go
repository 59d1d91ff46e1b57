package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/cmd/daiban/demo"
)

func cmdServe(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	withDemo := fs.Bool("demo", false, "首次启动时载入演示县（沂源县）")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger := cfg.logger()
	db, err := openServeDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	if *withDemo {
		created, err := demo.Load(ctx, db.Pool)
		if err != nil {
			return err
		}
		if err := showAccounts(os.Stdout, cfg.DataDir, created); err != nil {
			return err
		}
	}
	center := app.DefaultCenter
	center.BaseURL = cfg.BaseURL
	if !notify.LinkFits(center.BaseURL) {
		logger.Warn("DAIBAN_BASE_URL 太长：发给申请人的短信加上进度链接会超过 70 个字，请使用更短的公开地址", "base_url", center.BaseURL)
	}
	if cfg.CenterName != "" {
		center.Name = cfg.CenterName
	}
	pub, err := publicOptions()
	if err != nil {
		return err
	}
	a, err := app.New(ctx, app.Options{Center: center, FontDirs: cfg.FontDirs, Pool: db.Pool, Logger: logger, KeyDir: cfg.KeyDir, TSAURL: cfg.TSAURL, Origin: origin, Registerer: prometheus.DefaultRegisterer, Gatherer: prometheus.DefaultGatherer, MetricsAllow: cfg.MetricsAllow,
		Public: pub, Backup: cfg.Backup,
		// The demo has no text-message gateway: its log shows the applicants'
		// one-time codes (bookings, postal delivery) so they can be tried.
		CodeSender: cases.LogCodeSender{Logger: logger, ShowText: *withDemo}})
	if err != nil {
		return err
	}
	a.HTTP.TrustProxies(cfg.TrustedProxies)
	printPublicKeys(a)
	runCtx, cancel := context.WithCancel(ctx)
	done := a.Start(runCtx)
	defer func() { cancel(); <-done }()
	warnBackups(runCtx, cfg, db.Pool, logger)
	srv := a.HTTP
	fmt.Fprintf(os.Stdout, "daiban 已启动: http://%s/ （Ctrl-C 停止）\n", cfg.Addr)
	logger.Info("listening", "addr", cfg.Addr)
	err = srv.ListenAndServe(ctx, cfg.Addr)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("stopped")
	return err
}

// openServeDatabase is serve's start before the service: the keys checked
// (and taken back from the database's account, see reclaimKeyDir) before
// any PostgreSQL runs, then the database opened with the server's pool.
func openServeDatabase(ctx context.Context, cfg config, logger *slog.Logger) (*database, error) {
	if err := serveKeys(cfg.KeyDir, logger); err != nil {
		return nil, err
	}
	return openDatabase(ctx, cfg, logger)
}
