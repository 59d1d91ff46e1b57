package app

import (
	"github.com/riverqueue/river"

	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cmd/daiban/jobs"
)

// newDeadlines builds the deadline side, before the case service that
// needs it: the clock computes due dates with the database calendar and
// hears of every case action (a 督办 note becomes a notice); the notices
// scan runs as a River job; the supervision lists read the same calendar
// and clock.
func (a *App) newDeadlines(o Options) error {
	a.Deadlines = deadlines.NewService(deadlines.Config{Pool: a.Pool, Logger: a.Logger, Calendar: a.Calendar.Current,
		Calendars: a.Calendars, Now: o.Now, Sender: o.Sender})
	a.Supervision = deadlines.NewSupervision(a.Pool, a.PII, a.Calendar.Current, o.Now)
	workers := river.NewWorkers()
	a.workers = workers
	periodic := a.Deadlines.Jobs(workers, o.ScanInterval)
	periodic = append(periodic, a.Notify.Jobs(workers)...)
	var err error
	a.Jobs, err = jobs.New(jobs.Config{Pool: a.Pool, Logger: a.Logger, Workers: workers, Periodic: periodic, ID: o.JobsID})
	return err
}
