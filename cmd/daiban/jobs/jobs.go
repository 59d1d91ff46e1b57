// Package jobs runs daiban's background jobs on River (PostgreSQL-backed,
// pgx v5): every server runs a client; River elects one leader that
// inserts the periodic jobs, and any client works them. River's own tables
// are created by migrations.Up (rivermigrate) with the other migrations.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// QueueNotify is the queue of the notification deliveries (package
// cases/notify names it the same).
const QueueNotify = "notify"

// Runner is this server's River client.
type Runner struct {
	Client *river.Client[pgx.Tx]
	logger *slog.Logger
}

// Config configures New.
type Config struct {
	Pool    *pgxpool.Pool
	Logger  *slog.Logger
	Workers *river.Workers
	// Periodic jobs; only the elected leader inserts them.
	Periodic []*river.PeriodicJob
	// ID names this client (unique among running servers); generated when
	// empty.
	ID string
}

// New returns a runner, not started.
func New(cfg Config) (*Runner, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	id := cfg.ID
	if id == "" {
		id = clientID()
	}
	c, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		ID:     id,
		Logger: slog.New(minLevel{logger.Handler(), slog.LevelWarn}),
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4},
			// Deliveries to partners wait on other systems: their own
			// queue, so a slow partner never holds up the deadline scan.
			QueueNotify: {MaxWorkers: 8}},
		Workers:      cfg.Workers,
		PeriodicJobs: cfg.Periodic,
		// Jobs here are periodic scans: an hour of them is history enough.
		CompletedJobRetentionPeriod: time.Hour,
		// The app role does not own River's indexes, so it cannot reindex
		// them; a DBA does that with the owner's rights if ever needed.
		ReindexerSchedule: river.NeverSchedule(),
		SoftStopTimeout:   5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{Client: c, logger: logger}, nil
}

// Run starts the client and stops it when ctx ends (waiting up to the soft
// stop timeout for running jobs, then cancelling them).
func (r *Runner) Run(ctx context.Context) {
	if err := r.Client.Start(context.WithoutCancel(ctx)); err != nil {
		r.logger.Error("job runner did not start", "err", err.Error())
		return
	}
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := r.Client.Stop(stop); err != nil {
		_ = r.Client.StopAndCancel(context.WithoutCancel(ctx))
	}
}

func clientID() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer(".", "_", "-", "_").Replace(host)
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("daiban_%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b))
}

// minLevel drops records below a level: River's info logs are chatter in
// the service's log.
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler            { return minLevel{m.h.WithAttrs(a), m.min} }
func (m minLevel) WithGroup(n string) slog.Handler                 { return minLevel{m.h.WithGroup(n), m.min} }
