package reports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/sql/dbsqlc"
)

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
		Region:      Region{Code: reg.Code, Name: reg.Name, Level: reg.Level},
		From:        day(p.start),
		To:          day(p.last),
		AsOf:        day(p.asOf),
		Complete:    p.complete,
		Overdue:     []OverdueCase{},
		Complaints:  []Complaint{},
		GeneratedAt: now,
	}
	cal := s.cal()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return Report{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	b := &builder{q: s.q, tx: tx, cal: cal, p: p, scope: reg.Code, rows: map[string]*Row{}}
	if rep.Title, err = b.title(ctx, reg); err != nil {
		return Report{}, err
	}
	if err := b.gather(ctx, &rep, reg); err != nil {
		return Report{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Report{}, err
	}
	rep.Townships, rep.Total = b.totals(reg)
	return rep, nil
}

// builder gathers one report's rows inside the report's snapshot.
type builder struct {
	q     *dbsqlc.Queries
	tx    pgx.Tx
	cal   *calendar.Calendar
	p     period
	scope string // the region's code
	rows  map[string]*Row
	order []string // the rows' codes in report order
}

// title names the region (a township with its county in front) and the
// month.
func (b *builder) title(ctx context.Context, reg regions.Region) (string, error) {
	titleName := reg.Name
	if reg.Level == regions.Township && reg.Parent != "" {
		county, err := b.q.RegionGet(ctx, b.tx, reg.Parent)
		if err != nil {
			return "", fmt.Errorf("reports: county of %s: %w", reg.Code, err)
		}
		if !strings.HasPrefix(reg.Name, county.Name) {
			titleName = county.Name + reg.Name
		}
	}
	return fmt.Sprintf("%s帮办代办每月调度报告（%d年%d月）", titleName, b.p.start.Year(), int(b.p.start.Month())), nil
}

// gather reads every kind of figure into the rows and the lists of rep,
// in an order that decides the order of rows first seen on the way.
func (b *builder) gather(ctx context.Context, rep *Report, reg regions.Region) error {
	if err := b.townships(ctx, reg); err != nil {
		return err
	}
	if err := b.figures(ctx); err != nil {
		return err
	}
	if err := b.closeSpans(ctx); err != nil {
		return err
	}
	if err := b.escalations(ctx); err != nil {
		return err
	}
	if err := b.appointments(ctx); err != nil {
		return err
	}
	var err error
	if rep.Overdue, err = b.overdue(ctx, rep.Overdue); err != nil {
		return err
	}
	rep.Complaints, err = b.complaints(ctx, rep.Complaints)
	return err
}

// addRow returns the row of code, making it (named name) on first sight.
func (b *builder) addRow(code, name string) *Row {
	if r, ok := b.rows[code]; ok {
		return r
	}
	r := newRow(code, name)
	b.rows[code] = r
	b.order = append(b.order, code)
	return r
}

// rowOf returns the row of code, making one for a code the region list
// does not have (the county's own cases, under its six-digit code).
func (b *builder) rowOf(code string) *Row {
	if r, ok := b.rows[code]; ok {
		return r
	}
	name := code
	if len(code) == 6 {
		name = "县本级" // the county's own counter
	}
	return b.addRow(code, name)
}

// townships makes the rows: every township of the region, in code order.
func (b *builder) townships(ctx context.Context, reg regions.Region) error {
	towns, err := b.q.ReportTownships(ctx, b.tx, reg.Code)
	if err != nil {
		return err
	}
	for _, t := range towns {
		b.addRow(t.Code, t.Name)
	}
	if len(towns) == 0 { // a county whose townships are not entered yet
		b.addRow(reg.Code, reg.Name)
	}
	return nil
}

// figures reads the counts of received, delegated, closed and rated cases.
func (b *builder) figures(ctx context.Context) error {
	figures, err := b.q.ReportFigures(ctx, b.tx, b.p.start, b.p.end, b.scope)
	if err != nil {
		return err
	}
	for _, f := range figures {
		if f.Received == 0 && f.Delegated == 0 && f.Closed == 0 &&
			f.Rating1+f.Rating2+f.Rating3+f.Rating4+f.Rating5 == 0 && b.rows[f.Township] == nil {
			continue // only cases outside the month's figures: no empty county row
		}
		r := b.rowOf(f.Township)
		r.Received = int(f.Received)
		r.ByMode = Modes{Guide: int(f.ReceivedGuide), Accompany: int(f.ReceivedAccompany), Delegate: int(f.ReceivedDelegate)}
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
	return nil
}

// closeSpans sums the working days to close, per group of cases with the
// same start and close day.
func (b *builder) closeSpans(ctx context.Context) error {
	spans, err := b.q.ReportCloseSpans(ctx, b.tx, b.scope, b.p.start, b.p.end)
	if err != nil {
		return err
	}
	for _, sp := range spans {
		r := b.rowOf(sp.Township)
		r.CloseWorkdays += int(sp.N) * b.cal.WorkdaysBetween(sp.StartDay, sp.CloseDay)
	}
	return nil
}

// escalations counts the escalations by level and outcome.
func (b *builder) escalations(ctx context.Context) error {
	escs, err := b.q.ReportEscalations(ctx, b.tx, b.p.end, b.scope, b.p.start)
	if err != nil {
		return err
	}
	for _, e := range escs {
		r := b.rowOf(e.Township)
		r.Escalations.Add(e.Outcome, int(e.N))
		for i, lv := range EscalationLevels {
			if lv[0] == e.Level {
				r.Escalations.Levels[i].Add(e.Outcome, int(e.N))
			}
		}
	}
	return nil
}

// overdue appends the overdue cases to list and counts the open ones.
func (b *builder) overdue(ctx context.Context, list []OverdueCase) ([]OverdueCase, error) {
	p := b.p
	overdue, err := b.q.ReportOverdue(ctx, b.tx, dbsqlc.ReportOverdueParams{MonthEnd: p.end, Scope: b.scope, OverdueBefore: p.overdueBefore, MonthStart: p.start})
	if err != nil {
		return nil, err
	}
	for _, o := range overdue {
		r := b.rowOf(o.Township)
		it := OverdueCase{
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
		it.WorkdaysOverdue = b.cal.WorkdaysBetween(o.DueDay, until)
		if it.Status == "open" {
			r.OverdueOpen++
			it.DueProvisional = !b.cal.Covers(o.DueDay)
		}
		list = append(list, it)
	}
	return list, nil
}

// complaints appends the 差评 to list and counts their rectifications.
func (b *builder) complaints(ctx context.Context, list []Complaint) ([]Complaint, error) {
	p := b.p
	rects, err := b.q.ReportRectifications(ctx, b.tx, b.scope, p.start, p.end)
	if err != nil {
		return nil, err
	}
	for _, k := range rects {
		r := b.rowOf(k.Township)
		it := Complaint{
			CaseID: k.ID, Number: k.Number, Township: k.Township, TownshipName: r.Name, Title: k.Title,
			Rating: int(k.Rating), RatedOn: day(k.OpenedAt), DueDate: day(k.DueDay), Status: "open",
			Handler: k.Handler, HandlerName: k.HandlerName,
		}
		if k.Rating >= 1 && k.Rating <= 5 {
			it.RatingLabel = RatingLabels[k.Rating-1]
		}
		due := day(k.DueDay)
		if k.Status == "rectified" && k.RectifiedAt != nil && k.RectifiedAt.Before(p.end) {
			it.Status, it.RectifiedOn = "rectified", day(*k.RectifiedAt)
			it.Overdue = it.RectifiedOn > due
			r.Complaints.Rectified++
		} else {
			it.Overdue = due < day(p.overdueBefore)
			it.DueProvisional = !b.cal.Covers(k.DueDay)
			r.Complaints.Open++
		}
		r.Complaints.Total++
		if it.Overdue {
			r.Complaints.Overdue++
		}
		list = append(list, it)
	}
	return list, nil
}

// totals returns the finished rows in report order and their sum. The
// county's own row, when there is one, goes after the townships.
func (b *builder) totals(reg regions.Region) ([]Row, Row) {
	var rows []Row
	total := newRow(reg.Code, reg.Name)
	for _, code := range b.order {
		r := b.rows[code]
		finish(r)
		rows = append(rows, *r)
		addInto(total, r)
	}
	finish(total)
	return rows, *total
}

func newRow(code, name string) *Row {
	r := &Row{Code: code, Name: name}
	for i, lv := range EscalationLevels {
		r.Escalations.Levels[i].Level, r.Escalations.Levels[i].Label = lv[0], lv[1]
	}
	for i, l := range RatingLabels {
		r.Ratings.Levels[i].Score, r.Ratings.Levels[i].Label = i+1, l
	}
	return r
}

// addInto adds row r's counts to the total t.
func addInto(t, r *Row) {
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
	addOutcomes(&t.Escalations.Outcomes, r.Escalations.Outcomes)
	for i := range t.Escalations.Levels {
		addOutcomes(&t.Escalations.Levels[i].Outcomes, r.Escalations.Levels[i].Outcomes)
	}
	t.Ratings.Total += r.Ratings.Total
	for i := range t.Ratings.Levels {
		t.Ratings.Levels[i].Count += r.Ratings.Levels[i].Count
	}
	t.Complaints.Total += r.Complaints.Total
	t.Complaints.Open += r.Complaints.Open
	t.Complaints.Rectified += r.Complaints.Rectified
	t.Complaints.Overdue += r.Complaints.Overdue
	t.Appointments += r.Appointments
	t.NoShows += r.NoShows
}

// appointments counts the month's bookings and no-shows per township.
func (b *builder) appointments(ctx context.Context) error {
	utc := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	rows, err := b.q.AppointmentNoShows(ctx, b.tx, dbsqlc.AppointmentNoShowsParams{Today: utc(b.p.overdueBefore), FromDay: utc(b.p.start), ToDay: utc(b.p.end), Prefix: b.scope})
	if err != nil {
		return err
	}
	for _, a := range rows {
		r := b.rowOf(a.Region)
		r.Appointments, r.NoShows = int(a.Booked), int(a.NoShows)
	}
	return nil
}

func addOutcomes(t *Outcomes, o Outcomes) {
	t.Total += o.Total
	t.Approved += o.Approved
	t.Returned += o.Returned
	t.Refused += o.Refused
	t.Pending += o.Pending
}

// finish computes a row's ratios from its counts.
func finish(r *Row) {
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
