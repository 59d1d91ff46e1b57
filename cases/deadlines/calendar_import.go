package deadlines

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/sql/dbsqlc"
)

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
	// Confirmed lists the provisional due dates (past the calendar before
	// the import) that the new calendar keeps as they were.
	Confirmed []DueChange `json:"confirmed"`
	// Rectifications lists the open 差评 rectifications whose due date
	// moved.
	Rectifications []DueChange `json:"rectifications"`
	DryRun         bool        `json:"dry_run"`
}

var (
	errDryRun     = errors.New("dry run")
	errNoCalendar = errors.New("deadlines: no database calendar to import into")
)

// ImportCalendar loads a calendar file (see calendar.Parse) into the
// database calendar (Config.Calendars) and recomputes the due date of
// every open delegated case with it, in one transaction: a bad file, or
// one that would leave a year missing, changes nothing. Each due date that
// moves is a ledger entry (case.due_changed), the import itself is one
// (calendar.imported), and every server picks the new calendar up within
// moments. With dryRun everything is checked and computed, then rolled
// back.
func (s *Service) ImportCalendar(ctx context.Context, file []byte, actor string, dryRun bool) (_ CalendarImport, err error) {
	defer daiban.Wrap(&err, "deadlines: import calendar (dry run %v)", dryRun)
	if s.calendars == nil {
		return CalendarImport{}, errNoCalendar
	}
	next, err := calendar.Parse(file)
	if err != nil {
		return CalendarImport{}, err
	}
	out := CalendarImport{Years: next.Years(), Days: len(next.Days()), DryRun: dryRun, Changed: []DueChange{}, Confirmed: []DueChange{}, Rectifications: []DueChange{}}
	var merged *calendar.Calendar
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if merged, err = s.importTx(ctx, tx, next, file, actor, &out); err != nil {
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
	s.calendars.Live.Set(merged, out.Version)
	return out, nil
}

// importTx stores next and recomputes every open due date with the
// merged calendar, inside tx; it returns the merged calendar.
func (s *Service) importTx(ctx context.Context, tx pgx.Tx, next *calendar.Calendar, file []byte, actor string, out *CalendarImport) (*calendar.Calendar, error) {
	source := calendar.Source(file)
	// The calendar before, to tell which due dates were provisional.
	prev, _, err := s.calendarIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	// The calendar first (this serialises imports), then every open
	// case: an action racing the import either commits before its case
	// is locked here (and is recomputed below) or finds the new
	// calendar version (and retries).
	merged, version, err := s.calendars.ReplaceTx(ctx, tx, next, source)
	if err != nil {
		return nil, err
	}
	out.Version, out.Covered = version, merged.Years()
	if err := s.recomputeCases(ctx, tx, prev, merged, actor, out); err != nil {
		return nil, err
	}
	if err := s.recomputeRectifications(ctx, tx, merged, actor, out); err != nil {
		return nil, err
	}
	err = record(ctx, tx, actor, 0, "", "calendar.imported", map[string]any{
		"years": out.Years, "days": out.Days, "covered": out.Covered, "sha256": source,
		"calendar_version": out.Version, "recomputed": out.Recomputed, "changed": len(out.Changed),
		"rectifications_changed": len(out.Rectifications), "confirmed": len(out.Confirmed),
	})
	return merged, err
}

// recomputeCases recounts the due date of every open delegated case
// with cal, each locked; prev is the calendar before the import.
func (s *Service) recomputeCases(ctx context.Context, tx pgx.Tx, prev, cal *calendar.Calendar, actor string, out *CalendarImport) error {
	now := s.now()
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
		out.Recomputed++
		if err := s.recomputeCase(ctx, tx, calendars{prev, cal}, r, events[r.ID], now, actor, out); err != nil {
			return err
		}
	}
	return nil
}

// calendars are the calendar before an import and the one after.
type calendars struct{ prev, next *calendar.Calendar }

// recomputeCase moves one case's due date if the new calendar moves it,
// with its ledger entry. A provisional due date the new calendar covers
// and keeps is confirmed, also with a ledger entry (case.due_confirmed),
// so the record says when it stopped being provisional.
func (s *Service) recomputeCase(ctx context.Context, tx pgx.Tx, cals calendars, r dbsqlc.Case, events []ClockEvent, now time.Time, actor string, out *CalendarImport) error {
	old := ""
	if r.DueDate != nil {
		old = r.DueDate.Format("2006-01-02")
	}
	cal := cals.next
	due, paused := DueDate(cal, *r.DelegatedAt, int(r.LimitDays), events)
	wasProvisional := cases.Provisional(cals.prev, old)
	if due.Format("2006-01-02") == old {
		if !wasProvisional || cases.Provisional(cal, old) {
			return nil
		}
		out.Confirmed = append(out.Confirmed, DueChange{CaseID: r.ID, Number: r.Number, Old: old, New: old})
		return record(ctx, tx, actor, r.ID, r.Region, "case.due_confirmed", map[string]any{
			"number": r.Number, "due": old, "reason": "calendar", "calendar_version": out.Version,
			"note": fmt.Sprintf("节假日安排更新（%s），暂定办结日期 %s 经重新计算不变，不再暂定", calendar.YearsText(out.Years), old),
		})
	}
	v, err := s.q.CaseSetDueDate(ctx, tx, &due, now, r.ID)
	if err != nil {
		return err
	}
	out.Changed = append(out.Changed, DueChange{CaseID: r.ID, Number: r.Number, Old: old, New: due.Format("2006-01-02")})
	return record(ctx, tx, actor, r.ID, r.Region, "case.due_changed", map[string]any{
		"number": r.Number, "old_due": old, "new_due": due.Format("2006-01-02"), "reason": "calendar",
		"calendar_version": out.Version, "paused_workdays": paused, "version": v, "was_provisional": wasProvisional,
		"note": fmt.Sprintf("节假日安排更新（%s），办结时限由 %s%s 调整为 %s", calendar.YearsText(out.Years), provisionalWord(wasProvisional), orDash(old), due.Format("2006-01-02")),
	})
}

// provisionalWord qualifies a due date that was provisional.
func provisionalWord(p bool) string {
	if p {
		return "暂定的 "
	}
	return ""
}

// recomputeRectifications recounts open 差评 rectifications: they are due
// cases.RectificationWorkdays working days after they opened.
func (s *Service) recomputeRectifications(ctx context.Context, tx pgx.Tx, cal *calendar.Calendar, actor string, out *CalendarImport) error {
	rects, err := s.q.RectificationsOpenForUpdate(ctx, tx)
	if err != nil {
		return err
	}
	for _, r := range rects {
		due := cal.AddWorkdays(r.OpenedAt, cases.RectificationWorkdays)
		old := r.DueDate.Format("2006-01-02")
		if due.Format("2006-01-02") == old {
			continue
		}
		if err := s.q.RectificationSetDue(ctx, tx, due, r.ID); err != nil {
			return err
		}
		out.Rectifications = append(out.Rectifications, DueChange{CaseID: r.CaseID, Number: r.Number, Old: old, New: due.Format("2006-01-02")})
		err = record(ctx, tx, actor, r.CaseID, r.Region, "case.rectification_due_changed", map[string]any{
			"number": r.Number, "old_due": old, "new_due": due.Format("2006-01-02"), "reason": "calendar", "calendar_version": out.Version,
			"note": fmt.Sprintf("节假日安排更新（%s），差评整改期限由 %s 调整为 %s", calendar.YearsText(out.Years), old, due.Format("2006-01-02")),
		})
		if err != nil {
			return err
		}
	}
	return nil
}
