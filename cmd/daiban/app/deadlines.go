package app

import (
	"github.com/riverqueue/river"

	"github.com/daiban/daiban/cases/notices"
	"github.com/daiban/daiban/cases/supervision"
	"github.com/daiban/daiban/cmd/daiban/jobs"
)

// wireDeadlines connects the deadline side: the case service computes due
// dates with the database calendar and tells the notices service about
// 督办 notes; the notices scan runs as a River job; the supervision lists
// read the same calendar and clock.
func (a *App) wireDeadlines(o Options) error {
	a.Cases.Calendars = a.Calendars
	a.Notices = notices.NewService(a.Pool, a.Calendar.Current, a.Logger)
	a.Supervision = supervision.NewService(a.Pool, a.Calendar.Current)
	if o.Now != nil {
		a.Cases.Now, a.Notices.Now, a.Supervision.Now = o.Now, o.Now, o.Now
	}
	if o.Sender != nil {
		a.Notices.Sender = o.Sender
	}
	a.Cases.OnAction = a.Notices.OnCaseAction
	workers := river.NewWorkers()
	periodic := a.Notices.Jobs(workers, o.ScanInterval)
	var err error
	a.Jobs, err = jobs.New(jobs.Config{Pool: a.Pool, Logger: a.Logger, Workers: workers, Periodic: periodic, ID: o.JobsID})
	return err
}
