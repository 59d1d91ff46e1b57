package deadlines

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
)

// DefaultScanInterval is how often the deadline scan runs: a threshold is
// acted on within this interval (plus a moment to pick the job up), well
// inside a minute.
const DefaultScanInterval = 15 * time.Second

// ScanArgs is the periodic deadline scan job: fire the notices whose
// threshold has been reached, then deliver what is in the outbox.
type ScanArgs struct{}

// Kind names the job in River.
func (ScanArgs) Kind() string { return "daiban_deadline_scan" }

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	svc *Service
}

func (w *scanWorker) Work(ctx context.Context, _ *river.Job[ScanArgs]) error {
	_, scanErr := w.svc.Scan(ctx)
	_, sendErr := w.svc.Deliver(ctx)
	return errors.Join(scanErr, sendErr)
}

func (w *scanWorker) Timeout(*river.Job[ScanArgs]) time.Duration { return time.Minute }

// Jobs registers the scan's worker in workers and returns its periodic
// job, to run every interval (DefaultScanInterval when 0). River's leader
// inserts it; the job is unique per interval, so a new leader or a
// restart does not double it, and a failed run is not retried (the next
// one follows within the interval). Whichever server runs it, the
// deadline_alerts key keeps every notice to one.
func (s *Service) Jobs(workers *river.Workers, interval time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = DefaultScanInterval
	}
	river.AddWorker(workers, &scanWorker{svc: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return ScanArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		},
		&river.PeriodicJobOpts{ID: "deadline_scan", RunOnStart: true},
	)}
}
