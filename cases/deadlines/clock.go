package deadlines

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The deadline clock of a delegated case (contract: Deadlines).
//
// The clock starts when the agreement is signed; the signing day itself
// does not count (期间开始之日不计算在内). It runs while the case is
// delegated, processing or ready for handover; it stops while the case
// awaits materials (补正), is suspended (中止) or waits on a higher
// authority (escalated: the authority's time is tracked against the
// escalation's reply_due instead).
//
// A working day counts when the clock is running at its close (24:00
// Asia/Shanghai). So a day on which the case is paused and not resumed
// does not count, the day the clock restarts does (期间继续计算, from the
// day the cause of the pause ends), and a pause that starts and ends on the
// same day costs nothing. The due date is the Nth counted working day
// after the signing day, N the case's limit in working days.
//
// The paused time comes from the case's events: its ledger entries of type
// case.*, each with the states it went from and to and the time it
// happened (the "at" the case service wrote into the payload; the entry's
// own time for entries written before it did). A pause still going on is
// not known to end, so it is left out: the due date shown while a case is
// paused is the one it had when its clock stopped, and it moves out when
// the clock restarts.

// ClockEvent is one state change of a case.
type ClockEvent struct {
	At       time.Time
	From, To cases.State
}

// Interval is a span of time [From, To).
type Interval struct {
	From, To time.Time
}

// Pauses returns the spans, after signing, during which the clock was
// stopped and then restarted, from the case's state changes in order.
func Pauses(signed time.Time, events []ClockEvent) []Interval {
	var out []Interval
	var start time.Time
	stopped := false
	for _, e := range events {
		if e.At.Before(signed) {
			continue
		}
		switch {
		case !stopped && e.To.ClockStopped():
			stopped, start = true, e.At
		case stopped && !e.To.ClockStopped():
			stopped = false
			out = append(out, Interval{From: start, To: e.At})
		}
	}
	return out
}

// DueDate returns the date a limit of n working days signed at signed ends
// on, given the case's state changes, and how many working days the pauses
// took out of the count.
func DueDate(cal *calendar.Calendar, signed time.Time, n int, events []ClockEvent) (due time.Time, paused int) {
	pauses := Pauses(signed, events)
	d := calendar.Date(signed)
	for left := n; left > 0; {
		d = d.AddDate(0, 0, 1)
		if !cal.IsWorkday(d) {
			continue
		}
		if pausedAt(pauses, d.AddDate(0, 0, 1)) {
			paused++
			continue
		}
		left--
	}
	return d, paused
}

// pausedAt reports whether the clock was stopped at instant t.
func pausedAt(pauses []Interval, t time.Time) bool {
	for _, p := range pauses {
		if p.From.Before(t) && !p.To.Before(t) {
			return true
		}
	}
	return false
}

// clockEvents groups ledger entries into each case's state changes.
func clockEvents(rows []dbsqlc.CaseClockEntriesRow) map[int64][]ClockEvent {
	out := map[int64][]ClockEvent{}
	for _, r := range rows {
		var p struct {
			From string `json:"from"`
			To   string `json:"to"`
			At   string `json:"at"`
		}
		if r.CaseID == nil || json.Unmarshal(r.Payload, &p) != nil || p.From == "" || p.To == "" || p.From == p.To {
			continue
		}
		at := r.At
		if t, err := time.Parse(time.RFC3339Nano, p.At); err == nil {
			at = t
		}
		out[*r.CaseID] = append(out[*r.CaseID], ClockEvent{At: at, From: cases.State(p.From), To: cases.State(p.To)})
	}
	for _, evs := range out {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	}
	return out
}

// calendarIn returns the calendar in force as db sees it, with its
// version (0 when the service has no database calendar).
func (s *Service) calendarIn(ctx context.Context, db dbsqlc.DBTX) (*calendar.Calendar, int64, error) {
	if s.calendars == nil {
		return s.cal(), 0, nil
	}
	return s.calendars.InForce(ctx, db)
}

// errCalendarChanged answers an action that computed a due date while a
// new calendar was being imported.
var errCalendarChanged = daiban.Errorf(daiban.EVERSIONCONFLICT, "节假日安排刚刚更新，办结时限需按新日历重算，请刷新后重试")

// StartClock returns the due date of a case whose agreement is signed
// now: the limit's last working day after today (cases.Deadlines).
func (s *Service) StartClock(ctx context.Context, db dbsqlc.DBTX, c cases.Case, now time.Time) (_ time.Time, err error) {
	defer daiban.Wrap(&err, "deadlines: start the clock of case %d", c.ID)
	cal, _, err := s.calendarIn(ctx, db)
	if err != nil {
		return time.Time{}, err
	}
	return cal.AddWorkdays(now, c.LimitDays), nil
}

// OnAction is the deadline side of every case action (cases.Deadlines):
// it recomputes the due date when the clock restarts after a pause, and a
// 督办 note becomes a notice to the case's handler. Its writes run in the
// action's transaction.
func (s *Service) OnAction(ctx context.Context, db dbsqlc.DBTX, ev cases.ActionEvent) (_ cases.DeadlineChange, err error) {
	defer daiban.Wrap(&err, "deadlines: %s on case %d", ev.Action, ev.Case.ID)
	var out cases.DeadlineChange
	cur := ev.Case
	if cur.DelegatedAt != nil && cur.State.ClockStopped() && ev.To.ClockRuns() {
		var err error
		if out, err = s.restart(ctx, db, ev); err != nil {
			return cases.DeadlineChange{}, err
		}
	}
	if ev.Action == cases.ActSupervise {
		out.After = append(out.After, func(w dbsqlc.DBTX) error { return s.supervised(ctx, w, ev) })
	}
	return out, nil
}

// restart recomputes the due date of a case whose clock restarts: a due
// date that moves is a ledger entry (case.due_changed). With a database
// calendar, the action fails if a new calendar was imported meanwhile.
func (s *Service) restart(ctx context.Context, db dbsqlc.DBTX, ev cases.ActionEvent) (cases.DeadlineChange, error) {
	var out cases.DeadlineChange
	cur := ev.Case
	rows, err := s.q.CaseClockEntries(ctx, db, []int64{cur.ID})
	if err != nil {
		return out, err
	}
	events := append(clockEvents(rows)[cur.ID], ClockEvent{At: ev.At, From: cur.State, To: ev.To})
	cal, version, err := s.calendarIn(ctx, db)
	if err != nil {
		return out, err
	}
	due, paused := DueDate(cal, *cur.DelegatedAt, cur.LimitDays, events)
	if old := cur.DueDate; old != due.Format("2006-01-02") {
		out.Due = &due
		entry := map[string]any{
			"number": cur.Number, "old_due": old, "new_due": due.Format("2006-01-02"), "reason": "clock_restarted",
			"action": ev.Action, "paused_workdays": paused,
			"note": fmt.Sprintf("办结时限由 %s 顺延至 %s：%s期间不计入办理时限（共 %d 个工作日）", orDash(old), due.Format("2006-01-02"), cases.StateNames[cur.State], paused),
		}
		out.After = append(out.After, func(w dbsqlc.DBTX) error {
			return record(ctx, w, ev.Actor.Username, cur.ID, cur.Region, "case.due_changed", entry)
		})
	}
	if s.calendars != nil {
		// Read once the case row is locked by the update: a calendar
		// imported meanwhile makes the due date just computed stale.
		out.After = append(out.After, func(w dbsqlc.DBTX) error {
			v, err := s.calendars.Version(ctx, w)
			if err != nil {
				return err
			}
			if v != version {
				return errCalendarChanged
			}
			return nil
		})
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "（无）"
	}
	return s
}
