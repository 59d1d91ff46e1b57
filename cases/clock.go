package cases

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The deadline clock of a delegated case runs while the case is delegated,
// processing or ready for handover, and stops while it awaits materials,
// is suspended or waits on a higher authority. How the due date follows
// from that (the signing day, the pauses, the calendar) is package
// cases/deadlines; the case service reaches it through Deadlines, given
// at construction, since cases/deadlines imports cases and not the
// other way round.

// ClockRuns reports whether a case's deadline clock runs in state s.
func (s State) ClockRuns() bool { return s == Delegated || s == Processing || s == ReadyForHandover }

// ClockStopped reports whether a case's deadline clock is stopped (not
// ended) in state s.
func (s State) ClockStopped() bool { return s == AwaitingMaterials || s == Suspended || s == Escalated }

// Deadlines is the deadline side of the case lifecycle: due dates, and
// what an action means for them and for the notices. Package
// cases/deadlines implements it.
type Deadlines interface {
	// StartClock returns the due date of case c whose clock starts at now
	// (its agreement is signed), reading the calendar through db.
	StartClock(ctx context.Context, db dbsqlc.DBTX, c Case, now time.Time) (time.Time, error)
	// OnAction is called once per action, inside its transaction, once
	// the state it leads to is known.
	OnAction(ctx context.Context, db dbsqlc.DBTX, ev ActionEvent) (DeadlineChange, error)
}

// ActionEvent is an action as Deadlines sees it, inside the action's
// transaction.
type ActionEvent struct {
	Actor  Actor
	Case   Case // as it was before the action
	Action string
	To     State
	Note   string
	At     time.Time
}

// DeadlineChange is what an action does on the deadline side.
type DeadlineChange struct {
	// Due, when not nil, is the case's new due date.
	Due *time.Time
	// After runs in the action's transaction once the case row is
	// written (ledger entries, notices, checks); an error rolls the
	// action back.
	After []func(db dbsqlc.DBTX) error
}

// clock is the deadline side of an action, called once by apply after the
// edge is known: it stamps the time of a state change into the ledger
// entry (the events the clock is derived from) and applies what Deadlines
// makes of the action. Its writes are queued on ch.after, so they commit
// with the action or not at all.
func (s *Service) clock(ctx context.Context, db dbsqlc.DBTX, a Actor, cur Case, to State, action string, now time.Time, ch *change) error {
	if to != cur.State {
		ch.ledger["at"] = now.UTC().Format(time.RFC3339Nano)
	}
	ev := ActionEvent{Actor: a, Case: cur, Action: action, To: to, At: now}
	ev.Note, _ = ch.ledger["note"].(string)
	d, err := s.deadlines.OnAction(ctx, db, ev)
	if err != nil {
		return err
	}
	if d.Due != nil {
		ch.row.DueDate = d.Due
	}
	ch.after = append(ch.after, d.After...)
	s.tellAfter(ctx, ch, cur, action, to)
	return nil
}

// startClock starts the clock of a case whose agreement is signed now.
// The case is locked.
func (s *Service) startClock(ctx context.Context, tx pgx.Tx, c Case, ch *change) error {
	now := ch.row.Now
	due, err := s.deadlines.StartClock(ctx, tx, c, now)
	if err != nil {
		return err
	}
	ch.row.DelegatedAt, ch.row.DueDate = &now, &due
	ch.ledger["due_date"] = due.Format("2006-01-02")
	ch.ledger["at"] = now.UTC().Format(time.RFC3339Nano)
	return nil
}

// Provisional reports whether a date (YYYY-MM-DD) lies in a year cal has
// no holiday notice for. Working days counted there follow the plain
// Monday-to-Friday rule, so a due date there may still move: it is shown
// as 暂定 until the year's notice is published by the State Council and
// imported (daiban calendar import), which recomputes it. No holiday is
// ever guessed. "" is not provisional.
func Provisional(cal *calendar.Calendar, day string) bool {
	if day == "" || cal == nil {
		return false
	}
	d, err := time.ParseInLocation("2006-01-02", day, calendar.Shanghai)
	return err == nil && !cal.Covers(d)
}

// Calendar returns the working-day calendar in force.
func (s *Service) Calendar() *calendar.Calendar {
	if s.cal == nil {
		return calendar.Default()
	}
	return s.cal()
}

// markProvisional marks c's open deadlines that lie past the calendar in
// force. A closed case's due date is history and keeps no mark.
func (s *Service) markProvisional(c *Case) {
	cal := s.Calendar()
	c.DueProvisional = c.State.Open() && Provisional(cal, c.DueDate)
	if r := c.Rectification; r != nil {
		r.DueProvisional = r.Status == "open" && Provisional(cal, r.DueDate)
	}
}
