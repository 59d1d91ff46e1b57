package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
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
// happened (the "at" the service wrote into the payload; the entry's own
// time for entries written before it did). A pause still going on is not
// known to end, so it is left out: the due date shown while a case is
// paused is the one it had when its clock stopped, and it moves out when
// the clock restarts.

// ClockRuns reports whether a case's deadline clock runs in state s.
func (s State) ClockRuns() bool { return s == Delegated || s == Processing || s == ReadyForHandover }

// ClockStopped reports whether a case's deadline clock is stopped (not
// ended) in state s.
func (s State) ClockStopped() bool { return s == AwaitingMaterials || s == Suspended || s == Escalated }

// ClockEvent is one state change of a case.
type ClockEvent struct {
	At       time.Time
	From, To State
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
		out[*r.CaseID] = append(out[*r.CaseID], ClockEvent{At: at, From: State(p.From), To: State(p.To)})
	}
	for _, evs := range out {
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	}
	return out
}

// calendarIn returns the calendar in force as db sees it, with its
// version (0 when the service has no database calendar).
func (s *Service) calendarIn(ctx context.Context, db dbsqlc.DBTX) (*calendar.Calendar, int64, error) {
	if s.Calendars == nil {
		return s.cal(), 0, nil
	}
	return s.Calendars.InForce(ctx, db)
}

// errCalendarChanged answers an action that computed a due date while a
// new calendar was being imported.
var errCalendarChanged = daiban.Errorf(daiban.EVERSIONCONFLICT, "节假日安排刚刚更新，办结时限需按新日历重算，请刷新后重试")

// ActionEvent is an action as OnAction sees it, inside the action's
// transaction.
type ActionEvent struct {
	Actor  Actor
	Case   Case // as it was before the action
	Action string
	To     State
	Note   string
	At     time.Time
}

// clock is the deadline side of an action, called once by apply after the
// edge is known: it stamps the time of a state change into the ledger
// entry (the events the clock is derived from), recomputes the due date
// when the clock restarts after a pause, and runs OnAction. Its writes are
// queued on ch.after, so they commit with the action or not at all.
func (s *Service) clock(ctx context.Context, db dbsqlc.DBTX, a Actor, cur Case, to State, action string, now time.Time, ch *change) error {
	if to != cur.State {
		ch.ledger["at"] = now.UTC().Format(time.RFC3339Nano)
	}
	if cur.DelegatedAt != nil && cur.State.ClockStopped() && to.ClockRuns() {
		rows, err := s.q.CaseClockEntries(ctx, db, []int64{cur.ID})
		if err != nil {
			return err
		}
		events := append(clockEvents(rows)[cur.ID], ClockEvent{At: now, From: cur.State, To: to})
		cal, version, err := s.calendarIn(ctx, db)
		if err != nil {
			return err
		}
		due, paused := DueDate(cal, *cur.DelegatedAt, cur.LimitDays, events)
		if old := cur.DueDate; old != due.Format("2006-01-02") {
			ch.row.DueDate = &due
			entry := map[string]any{
				"number": cur.Number, "old_due": old, "new_due": due.Format("2006-01-02"), "reason": "clock_restarted",
				"action": action, "paused_workdays": paused,
				"note": fmt.Sprintf("办结时限由 %s 顺延至 %s：%s期间不计入办理时限（共 %d 个工作日）", orDash(old), due.Format("2006-01-02"), StateNames[cur.State], paused),
			}
			ch.after = append(ch.after, func(w dbsqlc.DBTX) error {
				return s.record(ctx, w, a.Username, cur.ID, cur.Region, "case.due_changed", entry)
			})
		}
		if s.Calendars != nil {
			// Read once the case row is locked by the update: a calendar
			// imported meanwhile makes the due date just computed stale.
			ch.after = append(ch.after, func(w dbsqlc.DBTX) error {
				v, err := s.Calendars.Version(ctx, w)
				if err != nil {
					return err
				}
				if v != version {
					return errCalendarChanged
				}
				return nil
			})
		}
	}
	if s.OnAction != nil {
		ev := ActionEvent{Actor: a, Case: cur, Action: action, To: to, At: now}
		ev.Note, _ = ch.ledger["note"].(string)
		ch.after = append(ch.after, func(w dbsqlc.DBTX) error { return s.OnAction(ctx, w, ev) })
	}
	return nil
}

// startClock starts the clock of a case whose agreement is signed now:
// due is the limit's last working day after today. The case is locked.
func (s *Service) startClock(ctx context.Context, tx pgx.Tx, c Case, ch *change) error {
	now := ch.row.Now
	cal, _, err := s.calendarIn(ctx, tx)
	if err != nil {
		return err
	}
	due := cal.AddWorkdays(now, c.LimitDays)
	ch.row.DelegatedAt, ch.row.DueDate = &now, &due
	ch.ledger["due_date"] = due.Format("2006-01-02")
	ch.ledger["at"] = now.UTC().Format(time.RFC3339Nano)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "（无）"
	}
	return s
}

// DueChange is one due date a new calendar moved.
type DueChange struct {
	CaseID int64  `json:"case_id"`
	Number string `json:"number"`
	Old    string `json:"old_due"`
	New    string `json:"new_due"`
}

// CalendarImport reports an import.
type CalendarImport struct {
	Years      []int       `json:"years"`      // the years the file covered
	Days       int         `json:"days"`       // the days it listed
	Covered    []int       `json:"covered"`    // every year stored now
	Version    int64       `json:"version"`    // the calendar's new version
	Recomputed int         `json:"recomputed"` // open delegated cases whose due date was recomputed
	Changed    []DueChange `json:"changed"`
	// Rectifications lists the open 差评 rectifications whose due date
	// moved.
	Rectifications []DueChange `json:"rectifications"`
	DryRun         bool        `json:"dry_run"`
}

var errDryRun = errors.New("dry run")

// ImportCalendar loads a calendar file (see calendar.Parse) into the
// database and recomputes the due date of every open delegated case with
// it, in one transaction: a bad file, or one that would leave a year
// missing, changes nothing. Each due date that moves is a ledger entry
// (case.due_changed), the import itself is one (calendar.imported), and
// every server picks the new calendar up within moments. With dryRun
// everything is checked and computed, then rolled back.
func (s *Service) ImportCalendar(ctx context.Context, st *calendar.Store, file []byte, actor string, dryRun bool) (CalendarImport, error) {
	next, err := calendar.Parse(file)
	if err != nil {
		return CalendarImport{}, err
	}
	out := CalendarImport{Years: next.Years(), Days: len(next.Days()), DryRun: dryRun, Changed: []DueChange{}, Rectifications: []DueChange{}}
	var merged *calendar.Calendar
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		source := calendar.Source(file)
		// The calendar first (this serialises imports), then every open
		// case: an action racing the import either commits before its case
		// is locked here (and is recomputed below) or finds the new
		// calendar version (and retries).
		merged, out.Version, err = st.ReplaceTx(ctx, tx, next, source)
		if err != nil {
			return err
		}
		out.Covered = merged.Years()
		now := s.Now()
		rows, err := s.q.CasesOpenForUpdate(ctx, tx)
		if err != nil {
			return err
		}
		var ids []int64
		for _, r := range rows {
			if r.DelegatedAt != nil {
				ids = append(ids, r.ID)
			}
		}
		entries, err := s.q.CaseClockEntries(ctx, tx, ids)
		if err != nil {
			return err
		}
		events := clockEvents(entries)
		for _, r := range rows {
			if r.DelegatedAt == nil {
				continue
			}
			c := fromRow(r)
			out.Recomputed++
			due, paused := DueDate(merged, *r.DelegatedAt, c.LimitDays, events[c.ID])
			if due.Format("2006-01-02") == c.DueDate {
				continue
			}
			v, err := s.q.CaseSetDueDate(ctx, tx, &due, now, c.ID)
			if err != nil {
				return err
			}
			out.Changed = append(out.Changed, DueChange{CaseID: c.ID, Number: c.Number, Old: c.DueDate, New: due.Format("2006-01-02")})
			err = s.record(ctx, tx, actor, c.ID, c.Region, "case.due_changed", map[string]any{
				"number": c.Number, "old_due": c.DueDate, "new_due": due.Format("2006-01-02"), "reason": "calendar",
				"calendar_version": out.Version, "paused_workdays": paused, "version": v,
				"note": fmt.Sprintf("节假日安排更新（%s），办结时限由 %s 调整为 %s", yearsText(out.Years), orDash(c.DueDate), due.Format("2006-01-02")),
			})
			if err != nil {
				return err
			}
		}
		// Open 差评 rectifications are due 15 working days after they
		// opened: recounted too.
		rects, err := s.q.RectificationsOpenForUpdate(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range rects {
			due := merged.AddWorkdays(r.OpenedAt, RectificationWorkdays)
			old := r.DueDate.Format("2006-01-02")
			if due.Format("2006-01-02") == old {
				continue
			}
			if err := s.q.RectificationSetDue(ctx, tx, due, r.ID); err != nil {
				return err
			}
			out.Rectifications = append(out.Rectifications, DueChange{CaseID: r.CaseID, Number: r.Number, Old: old, New: due.Format("2006-01-02")})
			err = s.record(ctx, tx, actor, r.CaseID, r.Region, "case.rectification_due_changed", map[string]any{
				"number": r.Number, "old_due": old, "new_due": due.Format("2006-01-02"), "reason": "calendar", "calendar_version": out.Version,
				"note": fmt.Sprintf("节假日安排更新（%s），差评整改期限由 %s 调整为 %s", yearsText(out.Years), old, due.Format("2006-01-02")),
			})
			if err != nil {
				return err
			}
		}
		err = s.record(ctx, tx, actor, 0, "", "calendar.imported", map[string]any{
			"years": out.Years, "days": out.Days, "covered": out.Covered, "sha256": source,
			"calendar_version": out.Version, "recomputed": out.Recomputed, "changed": len(out.Changed),
			"rectifications_changed": len(out.Rectifications),
		})
		if err != nil {
			return err
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return out, nil
	}
	if err != nil {
		return CalendarImport{}, err
	}
	st.Live.Set(merged, out.Version)
	return out, nil
}

func yearsText(ys []int) string {
	s := ""
	for i, y := range ys {
		if i > 0 {
			s += "、"
		}
		s += fmt.Sprint(y)
	}
	return s + " 年"
}
