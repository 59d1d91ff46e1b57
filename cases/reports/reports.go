// Package reports builds the monthly dispatch report (每月调度报告) of a
// county or a township: per township, the cases received (and by mode),
// delegated and closed, the on-time rate, the average working days to
// close, the overdue list with handlers, escalations and their outcomes,
// ratings by level and the 差评 with their rectification — as JSON, and as
// a PDF laid out by package pdf.
//
// # Determinism
//
// A report is computed from stored facts only. The month is [first day
// 00:00, next month's first day 00:00) in Asia/Shanghai; every figure
// counts events whose timestamp falls in it (opened, delegated, closed,
// escalated, rated), and the "at month end" figures (still open, overdue,
// escalation replies, rectifications) are judged from the stored
// timestamps at the month's end, not from the current state. So a
// finished month's report says the same whenever it is asked for (unless
// the stored facts change: a due date recomputed for a new holiday notice,
// a case corrected). The month in progress may be reported on too: its
// figures are as of today (AsOf, Complete false). Every list is ordered
// and every ratio is rounded half up to one decimal with integer
// arithmetic, so the same data gives the same JSON byte for byte.
//
// # Scale
//
// The counting is done in PostgreSQL (one GROUP BY per kind of figure,
// township = left(region, 9)); only the overdue list and the 差评 come
// back row by row, and the working days to close are counted per
// (township, start day, close day) group with the calendar in force.
package reports

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Report is one month's dispatch report of a region; its JSON is the
// API's answer and its PDF is pdf.Renderer.MonthlyReport.
type Report = pdf.ReportData

// Service builds reports.
type Service struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	cal      func() *calendar.Calendar
	renderer *pdf.Renderer
	// Now is the clock that decides which month is in progress (and the
	// PDF's generation time); time.Now unless set.
	Now func() time.Time
}

// NewService returns the service; cal returns the working-day calendar in
// force, now the clock (nil: time.Now).
func NewService(pool *pgxpool.Pool, cal func() *calendar.Calendar, renderer *pdf.Renderer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{pool: pool, q: dbsqlc.New(), cal: cal, renderer: renderer, Now: now}
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

// ParseMonth reads YYYY-MM and returns the month's first day, 00:00 in
// Asia/Shanghai. A malformed month, one before 2000 and one after the
// current month (in Asia/Shanghai, by now) are EINVALID errors naming the
// field "month".
func ParseMonth(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, daiban.Invalid("month", "请指定月份（month=YYYY-MM，例如 2026-10）")
	}
	t, err := time.ParseInLocation("2006-01", s, calendar.Shanghai)
	if !monthRE.MatchString(s) || err != nil {
		return time.Time{}, daiban.Invalid("month", "月份 %q 格式错误，应为 YYYY-MM（例如 2026-10）", s)
	}
	if t.Year() < calendar.MinYear {
		return time.Time{}, daiban.Invalid("month", "月份 %s 过早：只能生成 %d 年以后的报告", s, calendar.MinYear)
	}
	today := calendar.Date(now)
	current := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, calendar.Shanghai)
	if t.After(current) {
		return time.Time{}, daiban.Invalid("month", "月份 %s 尚未到来，不能生成报告（当前为 %s）", s, current.Format("2006-01"))
	}
	return t, nil
}

// Region looks up the region a report is asked for: a county or a
// township. An unknown or malformed code and a village are EINVALID errors
// naming the field "region".
func (s *Service) Region(ctx context.Context, code string) (regions.Region, error) {
	if code == "" {
		return regions.Region{}, daiban.Invalid("region", "请指定地区代码（region）")
	}
	lv := regions.LevelOf(code)
	if lv == "" || strings.Trim(code, "0123456789") != "" {
		return regions.Region{}, daiban.Invalid("region", "地区代码 %q 格式错误，应为 6 位（县）或 9 位（乡镇、街道）数字", code)
	}
	row, err := s.q.RegionGet(ctx, s.pool, code)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return regions.Region{}, daiban.Invalid("region", "地区代码 %s 不存在", code)
		}
		return regions.Region{}, err
	}
	reg := regions.Region{Code: row.Code, Name: row.Name, Level: row.Level}
	if row.Parent != nil {
		reg.Parent = *row.Parent
	}
	if reg.Level != regions.County && reg.Level != regions.Township {
		return regions.Region{}, daiban.Invalid("region", "调度报告按县或乡镇（街道）生成，%s（%s）是村（社区），请选择所属乡镇（街道）", reg.Name, reg.Code)
	}
	return reg, nil
}

// Monthly returns the report of region code for month (YYYY-MM), after
// checking both (see ParseMonth and Region). It does not check who asks:
// the HTTP layer scopes the region to the user.
func (s *Service) Monthly(ctx context.Context, code, month string) (Report, error) {
	now := s.Now()
	start, err := ParseMonth(month, now)
	if err != nil {
		return Report{}, err
	}
	reg, err := s.Region(ctx, code)
	if err != nil {
		return Report{}, err
	}
	return s.Build(ctx, reg, start, now)
}

// PDF renders a report.
func (s *Service) PDF(ctx context.Context, rep Report) ([]byte, error) {
	if rep.GeneratedAt.IsZero() {
		rep.GeneratedAt = s.Now()
	}
	return s.renderer.MonthlyReport(ctx, rep)
}

// period is a report's month and the instants and days it is judged at.
type period struct {
	start, end time.Time // [start, end): the month, Asia/Shanghai
	last       time.Time // the month's last day
	asOf       time.Time // last, or today for the month in progress
	complete   bool
	// overdueBefore: a due date before it had passed when the month's
	// figures are taken — the day after the last for a finished month
	// (a deadline ends at the close of its day), today for the month in
	// progress.
	overdueBefore time.Time
}

func newPeriod(start, now time.Time) period {
	p := period{start: start, end: start.AddDate(0, 1, 0)}
	p.last = p.end.AddDate(0, 0, -1)
	today := calendar.Date(now)
	p.complete = !today.Before(p.end)
	if p.complete {
		p.asOf, p.overdueBefore = p.last, p.end
	} else {
		p.asOf, p.overdueBefore = today, today
	}
	return p
}

func day(t time.Time) string { return calendar.Date(t).Format("2006-01-02") }

// Build computes the report of reg for the month starting at start (first
// day, Asia/Shanghai), with now deciding whether the month is finished.
// Every query runs in one read-only snapshot.
func (s *Service) Build(ctx context.Context, reg regions.Region, start, now time.Time) (Report, error) {
	p := newPeriod(start, now)
	rep := Report{
		Month:       start.Format("2006-01"),
		Region:      pdf.ReportRegion{Code: reg.Code, Name: reg.Name, Level: reg.Level},
		From:        day(p.start),
		To:          day(p.last),
		AsOf:        day(p.asOf),
		Complete:    p.complete,
		Overdue:     []pdf.ReportOverdueCase{},
		Complaints:  []pdf.ReportComplaint{},
		GeneratedAt: now,
	}
	cal := s.cal()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return Report{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	titleName := reg.Name
	if reg.Level == regions.Township && reg.Parent != "" {
		county, err := s.q.RegionGet(ctx, tx, reg.Parent)
		if err != nil {
			return Report{}, fmt.Errorf("reports: county of %s: %w", reg.Code, err)
		}
		if !strings.HasPrefix(reg.Name, county.Name) {
			titleName = county.Name + reg.Name
		}
	}
	rep.Title = fmt.Sprintf("%s帮办代办每月调度报告（%d年%d月）", titleName, start.Year(), int(start.Month()))

	// The rows: every township of the region, in code order.
	towns, err := s.q.ReportTownships(ctx, tx, reg.Code)
	if err != nil {
		return Report{}, err
	}
	rows := map[string]*pdf.ReportRow{}
	var order []string
	addRow := func(code, name string) *pdf.ReportRow {
		if r, ok := rows[code]; ok {
			return r
		}
		r := newRow(code, name)
		rows[code] = r
		order = append(order, code)
		return r
	}
	for _, t := range towns {
		addRow(t.Code, t.Name)
	}
	if len(towns) == 0 { // a county whose townships are not entered yet
		addRow(reg.Code, reg.Name)
	}
	// A row for a code the region list does not have (the county's own
	// cases, under its six-digit code), made on first sight.
	rowOf := func(code string) *pdf.ReportRow {
		if r, ok := rows[code]; ok {
			return r
		}
		name := code
		if len(code) == 6 {
			name = "县本级" // the county's own counter
		}
		return addRow(code, name)
	}

	figures, err := s.q.ReportFigures(ctx, tx, p.start, p.end, reg.Code)
	if err != nil {
		return Report{}, err
	}
	for _, f := range figures {
		if f.Received == 0 && f.Delegated == 0 && f.Closed == 0 &&
			f.Rating1+f.Rating2+f.Rating3+f.Rating4+f.Rating5 == 0 && rows[f.Township] == nil {
			continue // only cases outside the month's figures: no empty county row
		}
		r := rowOf(f.Township)
		r.Received = int(f.Received)
		r.ByMode = pdf.ReportModes{Guide: int(f.ReceivedGuide), Accompany: int(f.ReceivedAccompany), Delegate: int(f.ReceivedDelegate)}
		r.ByMode.Undecided = r.Received - r.ByMode.Guide - r.ByMode.Accompany - r.ByMode.Delegate
		r.Delegated = int(f.Delegated)
		r.Closed = int(f.Closed)
		r.ClosedDelegated = int(f.ClosedDelegated)
		r.ClosedOnTime = int(f.ClosedOnTime)
		r.ClosedLate = r.ClosedDelegated - r.ClosedOnTime
		for i, n := range []int32{f.Rating1, f.Rating2, f.Rating3, f.Rating4, f.Rating5} {
			r.Ratings.Levels[i].Count = int(n)
			r.Ratings.Total += int(n)
		}
	}

	spans, err := s.q.ReportCloseSpans(ctx, tx, reg.Code, p.start, p.end)
	if err != nil {
		return Report{}, err
	}
	for _, sp := range spans {
		r := rowOf(sp.Township)
		r.CloseWorkdays += int(sp.N) * cal.WorkdaysBetween(sp.StartDay, sp.CloseDay)
	}

	escs, err := s.q.ReportEscalations(ctx, tx, p.end, reg.Code, p.start)
	if err != nil {
		return Report{}, err
	}
	for _, e := range escs {
		r := rowOf(e.Township)
		r.Escalations.Add(e.Outcome, int(e.N))
		for i, lv := range pdf.EscalationLevels {
			if lv[0] == e.Level {
				r.Escalations.Levels[i].Add(e.Outcome, int(e.N))
			}
		}
	}

	overdue, err := s.q.ReportOverdue(ctx, tx, dbsqlc.ReportOverdueParams{MonthEnd: p.end, Scope: reg.Code, OverdueBefore: p.overdueBefore, MonthStart: p.start})
	if err != nil {
		return Report{}, err
	}
	for _, o := range overdue {
		r := rowOf(o.Township)
		it := pdf.ReportOverdueCase{
			CaseID: o.ID, Number: o.Number, Township: o.Township, TownshipName: r.Name, Title: o.Title,
			Handler: o.Handler, HandlerName: o.HandlerName, DueDate: day(o.DueDay), Status: "open",
		}
		if o.DelegatedAt != nil {
			it.DelegatedOn = day(*o.DelegatedAt)
		}
		until := p.asOf
		if o.ClosedAt != nil && o.ClosedAt.Before(p.end) {
			it.Status, it.ClosedOn = "closed_late", day(*o.ClosedAt)
			until = *o.ClosedAt
		}
		it.WorkdaysOverdue = cal.WorkdaysBetween(o.DueDay, until)
		if it.Status == "open" {
			r.OverdueOpen++
		}
		rep.Overdue = append(rep.Overdue, it)
	}

	rects, err := s.q.ReportRectifications(ctx, tx, reg.Code, p.start, p.end)
	if err != nil {
		return Report{}, err
	}
	for _, k := range rects {
		r := rowOf(k.Township)
		it := pdf.ReportComplaint{
			CaseID: k.ID, Number: k.Number, Township: k.Township, TownshipName: r.Name, Title: k.Title,
			Rating: int(k.Rating), RatedOn: day(k.OpenedAt), DueDate: day(k.DueDay), Status: "open",
			Handler: k.Handler, HandlerName: k.HandlerName,
		}
		if k.Rating >= 1 && k.Rating <= 5 {
			it.RatingLabel = pdf.RatingLabels[k.Rating-1]
		}
		due := day(k.DueDay)
		if k.Status == "rectified" && k.RectifiedAt != nil && k.RectifiedAt.Before(p.end) {
			it.Status, it.RectifiedOn = "rectified", day(*k.RectifiedAt)
			it.Overdue = it.RectifiedOn > due
			r.Complaints.Rectified++
		} else {
			it.Overdue = due < day(p.overdueBefore)
			r.Complaints.Open++
		}
		r.Complaints.Total++
		if it.Overdue {
			r.Complaints.Overdue++
		}
		rep.Complaints = append(rep.Complaints, it)
	}
	if err := tx.Commit(ctx); err != nil {
		return Report{}, err
	}

	// The county's own row, when there is one, goes after the townships.
	total := newRow(reg.Code, reg.Name)
	for _, code := range order {
		r := rows[code]
		finish(r)
		rep.Townships = append(rep.Townships, *r)
		addInto(total, r)
	}
	finish(total)
	rep.Total = *total
	return rep, nil
}

func newRow(code, name string) *pdf.ReportRow {
	r := &pdf.ReportRow{Code: code, Name: name}
	for i, lv := range pdf.EscalationLevels {
		r.Escalations.Levels[i].Level, r.Escalations.Levels[i].Label = lv[0], lv[1]
	}
	for i, l := range pdf.RatingLabels {
		r.Ratings.Levels[i].Score, r.Ratings.Levels[i].Label = i+1, l
	}
	return r
}

// addInto adds row r's counts to the total t.
func addInto(t, r *pdf.ReportRow) {
	t.Received += r.Received
	t.ByMode.Guide += r.ByMode.Guide
	t.ByMode.Accompany += r.ByMode.Accompany
	t.ByMode.Delegate += r.ByMode.Delegate
	t.ByMode.Undecided += r.ByMode.Undecided
	t.Delegated += r.Delegated
	t.Closed += r.Closed
	t.ClosedDelegated += r.ClosedDelegated
	t.ClosedOnTime += r.ClosedOnTime
	t.ClosedLate += r.ClosedLate
	t.CloseWorkdays += r.CloseWorkdays
	t.OverdueOpen += r.OverdueOpen
	addOutcomes(&t.Escalations.ReportOutcomes, r.Escalations.ReportOutcomes)
	for i := range t.Escalations.Levels {
		addOutcomes(&t.Escalations.Levels[i].ReportOutcomes, r.Escalations.Levels[i].ReportOutcomes)
	}
	t.Ratings.Total += r.Ratings.Total
	for i := range t.Ratings.Levels {
		t.Ratings.Levels[i].Count += r.Ratings.Levels[i].Count
	}
	t.Complaints.Total += r.Complaints.Total
	t.Complaints.Open += r.Complaints.Open
	t.Complaints.Rectified += r.Complaints.Rectified
	t.Complaints.Overdue += r.Complaints.Overdue
}

func addOutcomes(t *pdf.ReportOutcomes, o pdf.ReportOutcomes) {
	t.Total += o.Total
	t.Approved += o.Approved
	t.Returned += o.Returned
	t.Refused += o.Refused
	t.Pending += o.Pending
}

// finish computes a row's ratios from its counts.
func finish(r *pdf.ReportRow) {
	r.OnTimeRate = ratio(r.ClosedOnTime*100, r.ClosedDelegated)
	r.AvgCloseWorkdays = ratio(r.CloseWorkdays, r.Closed)
}

// ratio returns num/den rounded half up to one decimal, computed in
// integers so that it never depends on floating-point rounding; nil when
// den is 0.
func ratio(num, den int) *float64 {
	if den <= 0 {
		return nil
	}
	tenths := (20*num + den) / (2 * den)
	v := float64(tenths) / 10
	return &v
}
