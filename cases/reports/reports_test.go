package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/reports"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/ledger"
)

// sh is a time in Beijing: month (of 2026), day, hour, minute.
func sh(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, calendar.Shanghai)
}

// idNumber is the applicant's ID number on every hand-made case: it must
// never show up in a report.
const idNumber = "37032319850312201X"

// kase is a hand-made case row. Zero times and empty strings are NULL.
type kase struct {
	region, mode, state, outcome, createdBy, assignee string
	created, delegated, closed, rated                 time.Time
	due                                               string
	rating                                            int
}

var caseSeq atomic.Int64

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// insertCase writes a case row as it would stand after its actions (the
// report reads rows, not the actions that made them).
func insertCase(t testing.TB, env *apptest.Env, k kase) int64 {
	t.Helper()
	n := caseSeq.Add(1)
	var due any
	if k.due != "" {
		due = k.due
	}
	var rating any
	if k.rating != 0 {
		rating = k.rating
	}
	var id int64
	err := env.Pool.QueryRow(context.Background(), `
		INSERT INTO cases (number, tracking_code, region, channel, matter_code, title, matter_codes, complexity, limit_days,
			mode, applicant_kind, applicant_name, applicant_id_number_bidx, state, outcome, created_by, assignee,
			created_at, updated_at, closed_at, delegated_at, due_date, rating, rated_at)
		VALUES ($1, $2, $3, 'counter', 'SP001', '食品经营许可（新办）', ARRAY['SP001'], 'general', 5,
			$4, 'person', '张喆', sha256(convert_to($5::text, 'UTF8')), $6, $7, $8, $9, $10, $10, $11, $12, $13::date, $14, $15)
		RETURNING id`,
		fmt.Sprintf("%s-%s-%04d", k.region, k.created.In(calendar.Shanghai).Format("20060102"), n), fmt.Sprintf("TRK%08d", n), k.region,
		nullStr(k.mode), idNumber, k.state, nullStr(k.outcome), k.createdBy, nullStr(k.assignee),
		k.created, nullTime(k.closed), nullTime(k.delegated), due, rating, nullTime(k.rated)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func exec1(t testing.TB, env *apptest.Env, sql string, args ...any) {
	t.Helper()
	if _, err := env.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func escalate(t testing.TB, env *apptest.Env, caseID int64, level string, created, replied time.Time, outcome string) {
	exec1(t, env, `INSERT INTO escalations (case_id, level, authority, tracker, reply_due, created_by, created_at, replied_at, outcome)
		VALUES ($1, $2, '淄博市行政审批服务局', 'r.lishan', $3::date, 'r.lishan', $4, $5, $6)`,
		caseID, level, created.AddDate(0, 0, 10).Format("2006-01-02"), created, nullTime(replied), nullStr(outcome))
}

func rectification(t testing.TB, env *apptest.Env, caseID int64, rating int, opened time.Time, due string, rectified time.Time) {
	status := "open"
	if !rectified.IsZero() {
		status = "rectified"
	}
	exec1(t, env, `INSERT INTO rectifications (case_id, rating, comment, status, opened_at, due_date, closed_at, result)
		VALUES ($1, $2, '等待时间太长', $3, $4, $5::date, $6, $7)`,
		caseID, rating, status, opened, due, nullTime(rectified), nullStr(map[bool]string{true: "已回访并致歉"}[!rectified.IsZero()]))
}

// stateChange records a state change in the ledger as the case service
// does; withAt false leaves the time out of the payload (older entries),
// so the entry's own time counts.
func stateChange(t testing.TB, env *apptest.Env, caseID int64, region, from, to string, at time.Time, withAt bool) {
	t.Helper()
	p := map[string]any{"from": from, "to": to, "action": "x"}
	if withAt {
		// Nanoseconds, as the service writes them.
		p["at"] = at.Add(123456789 * time.Nanosecond).UTC().Format(time.RFC3339Nano)
	}
	b, err := ledger.Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, env, `INSERT INTO ledger_entries (at, actor, case_id, region, type, payload) VALUES ($1, 'r.test', $2, $3, 'case.x', $4)`,
		at, caseID, region, b)
}

const (
	lishan = "370323001"    // 历山街道
	nanma  = "370323002"    // 南麻街道
	lucun  = "370323101"    // 鲁村镇
	county = "370323"       // 沂源县
	cunA   = "370323001001" // a village of 历山街道
)

// fixture is the hand-made October 2026 (National Day: 1–7 October off,
// Saturday 10 October worked) of three townships and the county.
type fixture struct {
	env *apptest.Env
	ids map[string]int64
}

// now is the clock of the test service: mid-November 2026.
var now = sh(time.November, 15, 10, 0)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := apptest.NewClock(now)
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now})
	for _, u := range [][3]string{
		{"r.lishan", "township_agent", lishan}, {"r.village", "village_agent", cunA}, {"r.nanma", "township_agent", nanma},
		{"r.lucun", "township_agent", lucun}, {"r.county", "county_agent", county},
		{"s.county", "supervisor", county}, {"s.lishan", "supervisor", lishan}, {"r.admin", "admin", county},
	} {
		env.User(t, u[0], u[1], u[2])
	}
	f := &fixture{env: env, ids: map[string]int64{}}
	add := func(name string, k kase) int64 {
		id := insertCase(t, env, k)
		f.ids[name] = id
		return id
	}
	O := time.October
	// 历山街道
	a1 := add("A1", kase{region: cunA, mode: "guide", state: "closed", outcome: "guided", createdBy: "r.lishan",
		created: sh(O, 8, 9, 0), closed: sh(O, 8, 9, 30), rating: 5, rated: sh(O, 8, 10, 0)})
	_ = a1
	add("A2", kase{region: lishan, mode: "accompany", state: "closed", outcome: "accompanied", createdBy: "r.lishan",
		created: sh(O, 9, 10, 0), closed: sh(O, 13, 16, 0), rating: 4, rated: sh(O, 14, 9, 0)})
	a3 := add("A3", kase{region: lishan, mode: "delegate", state: "closed", outcome: "handed_over", createdBy: "r.lishan",
		created: sh(O, 9, 9, 0), delegated: sh(O, 9, 15, 0), due: "2026-10-16", closed: sh(O, 15, 11, 0), rating: 2, rated: sh(O, 16, 10, 0)})
	rectification(t, env, a3, 2, sh(O, 16, 10, 0), "2026-11-06", time.Time{})
	a4 := add("A4", kase{region: cunA, mode: "delegate", state: "closed", outcome: "handed_over", createdBy: "r.village", assignee: "r.lishan",
		created: sh(O, 12, 9, 0), delegated: sh(O, 12, 10, 0), due: "2026-10-19", closed: sh(O, 21, 16, 0)})
	escalate(t, env, a4, "city", sh(O, 13, 9, 0), sh(O, 15, 9, 0), "approved")
	add("A5", kase{region: lishan, mode: "delegate", state: "processing", createdBy: "r.lishan",
		created: sh(time.September, 20, 9, 0), delegated: sh(time.September, 21, 9, 0), due: "2026-09-30"})
	add("A6", kase{region: lishan, state: "consultation", createdBy: "r.lishan", created: sh(O, 20, 9, 0)})
	add("A7", kase{region: lishan, mode: "delegate", state: "processing", createdBy: "r.lishan",
		created: sh(O, 26, 9, 0), delegated: sh(O, 26, 10, 0), due: "2026-11-02"})
	// Closed in November: open at the end of October, and overdue then.
	add("A8", kase{region: lishan, mode: "delegate", state: "closed", outcome: "handed_over", createdBy: "r.lishan",
		created: sh(O, 22, 9, 0), delegated: sh(O, 22, 10, 0), due: "2026-10-29", closed: sh(time.November, 3, 9, 0)})
	// Due on the last working day of the month, still open.
	add("A9", kase{region: lishan, mode: "delegate", state: "processing", createdBy: "r.lishan",
		created: sh(O, 23, 9, 0), delegated: sh(O, 23, 10, 0), due: "2026-10-30"})
	// The month's edges in Beijing time.
	add("N1", kase{region: lishan, state: "consultation", createdBy: "r.lishan", created: sh(time.November, 2, 9, 0)})
	add("N2", kase{region: lishan, state: "consultation", createdBy: "r.lishan", created: sh(O, 31, 23, 30)})
	add("N3", kase{region: lishan, state: "consultation", createdBy: "r.lishan", created: sh(time.November, 1, 0, 30)})
	add("N4", kase{region: lishan, state: "consultation", createdBy: "r.lishan", created: sh(O, 1, 0, 10)})

	// 南麻街道
	b1 := add("B1", kase{region: nanma, mode: "delegate", state: "closed", outcome: "handed_over", createdBy: "r.nanma",
		created: sh(O, 14, 9, 0), delegated: sh(O, 14, 11, 0), due: "2026-10-21", closed: sh(O, 21, 17, 0)})
	escalate(t, env, b1, "national", sh(O, 16, 9, 0), sh(O, 19, 9, 0), "refused")
	b2 := add("B2", kase{region: nanma, mode: "guide", state: "closed", outcome: "guided", createdBy: "r.nanma",
		created: sh(O, 15, 9, 0), closed: sh(O, 15, 9, 20), rating: 1, rated: sh(O, 15, 9, 30)})
	rectification(t, env, b2, 1, sh(O, 15, 9, 30), "2026-10-20", sh(O, 22, 15, 0))
	// Waiting on the province at month end: its due date passed, but the
	// clock was stopped.
	b3 := add("B3", kase{region: nanma, mode: "delegate", state: "processing", createdBy: "r.nanma",
		created: sh(O, 16, 9, 0), delegated: sh(O, 16, 10, 0), due: "2026-10-23"})
	escalate(t, env, b3, "province", sh(O, 19, 9, 0), sh(time.November, 2, 9, 0), "approved")
	stateChange(t, env, b3, nanma, "agreement_pending", "delegated", sh(O, 16, 10, 0), true)
	stateChange(t, env, b3, nanma, "delegated", "processing", sh(O, 17, 10, 0), true)
	stateChange(t, env, b3, nanma, "processing", "escalated", sh(O, 19, 9, 0), true)
	stateChange(t, env, b3, nanma, "escalated", "processing", sh(time.November, 2, 9, 0), true)
	// Suspended at month end (an entry without "at": its own time counts).
	b4 := add("B4", kase{region: nanma, mode: "delegate", state: "suspended", createdBy: "r.nanma",
		created: sh(O, 5, 10, 0), delegated: sh(O, 8, 10, 0), due: "2026-10-15"})
	stateChange(t, env, b4, nanma, "processing", "suspended", sh(O, 14, 9, 0), false)
	add("B5", kase{region: nanma, mode: "delegate", state: "agreement_pending", createdBy: "r.nanma", created: sh(O, 16, 11, 0)})

	// 鲁村镇: nothing in October but a rating.
	add("C1", kase{region: lucun, mode: "delegate", state: "closed", outcome: "handed_over", createdBy: "r.lucun",
		created: sh(time.August, 1, 9, 0), delegated: sh(time.August, 3, 9, 0), due: "2026-08-10", closed: sh(time.September, 5, 9, 0)})
	add("C2", kase{region: lucun, mode: "guide", state: "closed", outcome: "guided", createdBy: "r.lucun",
		created: sh(time.September, 10, 9, 0), closed: sh(time.September, 10, 9, 10), rating: 3, rated: sh(O, 2, 9, 0)})

	// The county's own counter.
	add("K1", kase{region: county, mode: "guide", state: "closed", outcome: "guided", createdBy: "r.county",
		created: sh(O, 9, 9, 0), closed: sh(O, 9, 9, 5)})
	return f
}

func (f *fixture) get(t *testing.T, user, path string) apptest.Response {
	t.Helper()
	return f.env.Do(t, f.env.Token(t, user), http.MethodGet, path, nil, nil)
}

func decode(t testing.TB, r apptest.Response) reports.Report {
	t.Helper()
	var d reports.Report
	if err := json.Unmarshal(r.Body, &d); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return d
}

func f1(v float64) *float64 { return &v }

func fmtRate(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprintf("%.1f", *v)
}

// figures is a row's figures in one comparable line.
func figures(r reports.Row) string {
	e := r.Escalations
	lv := func(i int) string {
		l := e.Levels[i]
		return fmt.Sprintf("%s:%d/%d/%d/%d/%d", l.Level, l.Total, l.Approved, l.Returned, l.Refused, l.Pending)
	}
	var ratings []string
	for _, l := range r.Ratings.Levels {
		ratings = append(ratings, fmt.Sprint(l.Count))
	}
	return fmt.Sprintf("recv=%d g=%d a=%d d=%d u=%d deleg=%d closed=%d cd=%d ontime=%d late=%d rate=%s wd=%d avg=%s overdue=%d "+
		"esc=%d/%d/%d/%d/%d %s %s %s ratings=%d[%s] complaints=%d/%d/%d/%d",
		r.Received, r.ByMode.Guide, r.ByMode.Accompany, r.ByMode.Delegate, r.ByMode.Undecided, r.Delegated, r.Closed,
		r.ClosedDelegated, r.ClosedOnTime, r.ClosedLate, fmtRate(r.OnTimeRate), r.CloseWorkdays, fmtRate(r.AvgCloseWorkdays), r.OverdueOpen,
		e.Total, e.Approved, e.Returned, e.Refused, e.Pending, lv(0), lv(1), lv(2),
		r.Ratings.Total, strings.Join(ratings, ","), r.Complaints.Total, r.Complaints.Open, r.Complaints.Rectified, r.Complaints.Overdue)
}

// TestMonthlyFigures checks every figure of the hand-made October against
// values worked out by hand.
func TestMonthlyFigures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.get(t, "s.county", "/api/v1/reports/monthly?month=2026-10&region=370323").Must(t, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q", cc)
	}
	d := decode(t, r)
	if d.Title != "沂源县帮办代办每月调度报告（2026年10月）" || d.Month != "2026-10" || d.From != "2026-10-01" || d.To != "2026-10-31" ||
		d.AsOf != "2026-10-31" || !d.Complete || d.Region.Code != county || d.Region.Name != "沂源县" || d.Region.Level != "county" {
		t.Errorf("header: %+v", d)
	}
	// Every township of the county, in code order, then the county's own
	// counter.
	if len(d.Townships) != 13 || d.Townships[0].Code != lishan || d.Townships[0].Name != "历山街道" ||
		d.Townships[12].Code != county || d.Townships[12].Name != "县本级" {
		var names []string
		for _, r := range d.Townships {
			names = append(names, r.Code+r.Name)
		}
		t.Fatalf("rows: %v", names)
	}
	row := map[string]reports.Row{}
	for _, r := range d.Townships {
		row[r.Code] = r
	}
	want := map[string]string{
		// A: received A1-A4, A6-A9, N2, N4; closed A1 (0 wd), A2 (3), A3 (5, on time), A4 (7, late): 15/4 = 3.75.
		lishan: "recv=10 g=1 a=1 d=5 u=3 deleg=5 closed=4 cd=2 ontime=1 late=1 rate=50.0 wd=15 avg=3.8 overdue=3 " +
			"esc=1/1/0/0/0 city:1/1/0/0/0 province:0/0/0/0/0 national:0/0/0/0/0 ratings=3[0,1,0,1,1] complaints=1/1/0/0",
		// B: B3 escalated and B4 suspended at month end are not overdue.
		nanma: "recv=5 g=1 a=0 d=4 u=0 deleg=3 closed=2 cd=1 ontime=1 late=0 rate=100.0 wd=5 avg=2.5 overdue=0 " +
			"esc=2/0/0/1/1 city:0/0/0/0/0 province:1/0/0/0/1 national:1/0/0/1/0 ratings=1[1,0,0,0,0] complaints=1/0/1/1",
		lucun: "recv=0 g=0 a=0 d=0 u=0 deleg=0 closed=0 cd=0 ontime=0 late=0 rate=null wd=0 avg=null overdue=0 " +
			"esc=0/0/0/0/0 city:0/0/0/0/0 province:0/0/0/0/0 national:0/0/0/0/0 ratings=1[0,0,1,0,0] complaints=0/0/0/0",
		county: "recv=1 g=1 a=0 d=0 u=0 deleg=0 closed=1 cd=0 ontime=0 late=0 rate=null wd=0 avg=0.0 overdue=0 " +
			"esc=0/0/0/0/0 city:0/0/0/0/0 province:0/0/0/0/0 national:0/0/0/0/0 ratings=0[0,0,0,0,0] complaints=0/0/0/0",
		"370323110": "recv=0 g=0 a=0 d=0 u=0 deleg=0 closed=0 cd=0 ontime=0 late=0 rate=null wd=0 avg=null overdue=0 " +
			"esc=0/0/0/0/0 city:0/0/0/0/0 province:0/0/0/0/0 national:0/0/0/0/0 ratings=0[0,0,0,0,0] complaints=0/0/0/0",
	}
	for code, w := range want {
		if got := figures(row[code]); got != w {
			t.Errorf("%s:\n got %s\nwant %s", code, got, w)
		}
	}
	// Total: 20 working days over 7 closed = 2.857; 2 of 3 on time.
	wantTotal := "recv=16 g=3 a=1 d=9 u=3 deleg=8 closed=7 cd=3 ontime=2 late=1 rate=66.7 wd=20 avg=2.9 overdue=3 " +
		"esc=3/1/0/1/1 city:1/1/0/0/0 province:1/0/0/0/1 national:1/0/0/1/0 ratings=5[1,1,1,1,1] complaints=2/1/1/1"
	if got := figures(d.Total); got != wantTotal {
		t.Errorf("total:\n got %s\nwant %s", got, wantTotal)
	}
	if d.Total.Code != county || d.Total.Name != "沂源县" {
		t.Errorf("total row %s %s", d.Total.Code, d.Total.Name)
	}

	// The overdue list, by township, due date, number.
	var got []string
	for _, o := range d.Overdue {
		got = append(got, fmt.Sprintf("%s %s %s due=%s %s closed=%s wd=%d %s/%s", idName(f, o.CaseID), o.Township, o.TownshipName,
			o.DueDate, o.Status, o.ClosedOn, o.WorkdaysOverdue, o.Handler, o.HandlerName))
	}
	wantOverdue := []string{
		"A5 370323001 历山街道 due=2026-09-30 open closed= wd=18 r.lishan/测试r.lishan",
		"A4 370323001 历山街道 due=2026-10-19 closed_late closed=2026-10-21 wd=2 r.lishan/测试r.lishan",
		"A8 370323001 历山街道 due=2026-10-29 open closed= wd=1 r.lishan/测试r.lishan",
		"A9 370323001 历山街道 due=2026-10-30 open closed= wd=0 r.lishan/测试r.lishan",
	}
	if strings.Join(got, "\n") != strings.Join(wantOverdue, "\n") {
		t.Errorf("overdue:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantOverdue, "\n"))
	}
	if d.Overdue[0].DelegatedOn != "2026-09-21" || d.Overdue[0].Title != "食品经营许可（新办）" {
		t.Errorf("overdue item: %+v", d.Overdue[0])
	}

	got = nil
	for _, k := range d.Complaints {
		got = append(got, fmt.Sprintf("%s %s rating=%d %s on=%s due=%s %s rectified=%s overdue=%v %s", idName(f, k.CaseID), k.Township,
			k.Rating, k.RatingLabel, k.RatedOn, k.DueDate, k.Status, k.RectifiedOn, k.Overdue, k.Handler))
	}
	wantComplaints := []string{
		"A3 370323001 rating=2 不满意 on=2026-10-16 due=2026-11-06 open rectified= overdue=false r.lishan",
		"B2 370323002 rating=1 非常不满意 on=2026-10-15 due=2026-10-20 rectified rectified=2026-10-22 overdue=true r.nanma",
	}
	if strings.Join(got, "\n") != strings.Join(wantComplaints, "\n") {
		t.Errorf("complaints:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantComplaints, "\n"))
	}
	if strings.Contains(string(r.Body), idNumber) || strings.Contains(string(r.Body), "张喆") {
		t.Error("the JSON shows an applicant's ID number or name")
	}

	// The township's own report: only itself, the same figures.
	tw := decode(t, f.get(t, "s.county", "/api/v1/reports/monthly?month=2026-10&region=370323001").Must(t, http.StatusOK))
	if tw.Title != "沂源县历山街道帮办代办每月调度报告（2026年10月）" || len(tw.Townships) != 1 || figures(tw.Townships[0]) != want[lishan] ||
		figures(tw.Total) != want[lishan] || len(tw.Overdue) != 4 || len(tw.Complaints) != 1 {
		t.Errorf("township report: %s %d rows, total %s", tw.Title, len(tw.Townships), figures(tw.Total))
	}
}

func idName(f *fixture, id int64) string {
	for name, v := range f.ids {
		if v == id {
			return name
		}
	}
	return fmt.Sprint(id)
}

// TestMonthlyDeterministic asks for the same month twice (and after
// something happens in a later month): the JSON is the same byte for byte.
func TestMonthlyDeterministic(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	path := "/api/v1/reports/monthly?month=2026-10&region=370323"
	first := f.get(t, "s.county", path).Must(t, http.StatusOK).Body
	second := f.get(t, "s.county", path).Must(t, http.StatusOK).Body
	if string(first) != string(second) {
		t.Fatal("the same month gives different JSON")
	}
	// November: A7 is closed, B3's reply came, a new case arrives. October
	// stays as it was.
	exec1(t, f.env, `UPDATE cases SET state = 'closed', outcome = 'handed_over', closed_at = $2 WHERE id = $1`, f.ids["A7"], sh(time.November, 5, 9, 0))
	insertCase(t, f.env, kase{region: lishan, mode: "guide", state: "closed", outcome: "guided", createdBy: "r.lishan",
		created: sh(time.November, 6, 9, 0), closed: sh(time.November, 6, 9, 10), rating: 1, rated: sh(time.November, 6, 9, 20)})
	third := f.get(t, "s.county", path).Must(t, http.StatusOK).Body
	if string(first) != string(third) {
		t.Fatalf("October changed with November's events:\n%s\n%s", first, third)
	}
}

var spaces = regexp.MustCompile(`\s+`)

func pdfText(t *testing.T, docPDF []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext not found: apt-get install poppler-utils")
	}
	p := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(p, docPDF, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", "-raw", p, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return spaces.ReplaceAllString(string(out), " ")
}

func num(v *float64, suffix string) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%s", *v, suffix)
}

// TestMonthlyPDFAgreesWithJSON reads the PDF back: the title, every
// township's table row with the JSON's figures, the totals, the overdue
// list and the 差评 are there, and no ID number.
func TestMonthlyPDFAgreesWithJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := decode(t, f.get(t, "s.county", "/api/v1/reports/monthly?month=2026-10&region=370323").Must(t, http.StatusOK))
	r := f.get(t, "s.county", "/api/v1/reports/monthly.pdf?month=2026-10&region=370323").Must(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Fatalf("content type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="report-370323-2026-10.pdf"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !strings.HasPrefix(string(r.Body), "%PDF-") {
		t.Fatal("not a PDF")
	}
	if dir := os.Getenv("REPORT_KEEP"); dir != "" { // to look at them
		js := f.get(t, "s.county", "/api/v1/reports/monthly?month=2026-10&region=370323").Body
		if err := os.WriteFile(filepath.Join(dir, "report-370323-2026-10.json"), js, 0o644); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report-370323-2026-10.pdf"), r.Body, 0o644); err != nil {
			t.Error(err)
		}
	}
	text := pdfText(t, r.Body)
	compact := strings.ReplaceAll(text, " ", "")
	for _, w := range []string{d.Title, "统计范围：沂源县（370323）", "生成时间：2026年11月15日10:00", "统计期间：2026年10月1日至2026年10月31日",
		"图1", "图2", "图3", "第1页共", "66.7%", "50.0%", "100.0%"} {
		if !strings.Contains(compact, strings.ReplaceAll(w, " ", "")) {
			t.Errorf("PDF lacks %q", w)
		}
	}
	// Each township's row of the main table, cell by cell as the JSON has it.
	rows := append(append([]reports.Row(nil), d.Townships...), d.Total)
	for i, row := range rows {
		name := row.Name
		if i == len(rows)-1 {
			name = "合计"
		}
		line := fmt.Sprintf("%s %d %d %d %d %d %d %s %s %d %d", name, row.Received, row.ByMode.Guide, row.ByMode.Accompany,
			row.ByMode.Delegate, row.Delegated, row.Closed, num(row.OnTimeRate, "%"), num(row.AvgCloseWorkdays, ""), row.OverdueOpen, row.ClosedLate)
		if !strings.Contains(text, line) {
			t.Errorf("PDF lacks the row %q", line)
		}
	}
	for _, o := range d.Overdue {
		if !strings.Contains(compact, o.Number) || !strings.Contains(compact, o.DueDate) {
			t.Errorf("PDF lacks overdue case %s", o.Number)
		}
	}
	for _, k := range d.Complaints {
		if !strings.Contains(compact, k.Number) {
			t.Errorf("PDF lacks 差评 %s", k.Number)
		}
	}
	for _, w := range []string{"r.lishan", "测试r.lishan", "逾期办结", "整改中", "已整改"} {
		if !strings.Contains(compact, w) {
			t.Errorf("PDF lacks %q", w)
		}
	}
	if strings.Contains(compact, idNumber) || strings.Contains(compact, "张喆") {
		t.Error("the PDF shows an applicant's ID number or name")
	}
}

// TestMonthlyScopeAndBadInput: a region outside the user's is 404, bad
// input is 422 naming the field, roles without report:read are 403.
func TestMonthlyScopeAndBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		user, query string
		status      int
		field       string
	}{
		{"s.lishan", "month=2026-10&region=370323001", 200, ""},
		{"s.lishan", "month=2026-10", 200, ""}, // the user's own region
		{"s.lishan", "month=2026-10&region=370323", 404, ""},
		{"s.lishan", "month=2026-10&region=370323002", 404, ""},
		{"r.lucun", "month=2026-10&region=370323101", 200, ""},
		{"r.lucun", "month=2026-10&region=370323001", 404, ""},
		{"r.county", "month=2026-10&region=370323", 200, ""},
		{"r.village", "month=2026-10&region=370323001001", 403, ""},
		{"r.admin", "month=2026-10&region=370323", 403, ""},
		{"s.county", "month=2026-10&region=370323999", 422, "region"},
		{"s.county", "month=2026-10&region=37032", 422, "region"},
		{"s.county", "month=2026-10&region=abc", 422, "region"},
		{"s.county", "month=2026-10&region=370323001001", 422, "region"},
		{"s.county", "month=2026-13&region=370323", 422, "month"},
		{"s.county", "month=2026/10&region=370323", 422, "month"},
		{"s.county", "month=2026-1&region=370323", 422, "month"},
		{"s.county", "month=&region=370323", 422, "month"},
		{"s.county", "region=370323", 422, "month"},
		{"s.county", "month=1999-12&region=370323", 422, "month"},
		{"s.county", "month=2026-12&region=370323", 422, "month"}, // after the current month (November)
		{"s.county", "month=2027-01&region=370323", 422, "month"},
		{"s.county", "month=2026-10&region=370323&x=1", 422, "x"},
	}
	for _, c := range cases {
		for _, path := range []string{"/api/v1/reports/monthly?", "/api/v1/reports/monthly.pdf?"} {
			r := f.get(t, c.user, path+c.query)
			if r.Status != c.status {
				t.Errorf("%s %s%s: %d, want %d (%s)", c.user, path, c.query, r.Status, c.status, r.Body)
				continue
			}
			if c.field != "" {
				var e struct {
					Error struct{ Code, Message, Field string }
				}
				if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code != "invalid" || e.Error.Field != c.field || e.Error.Message == "" {
					t.Errorf("%s %s%s: %s, want invalid naming %s", c.user, path, c.query, r.Body, c.field)
				}
			}
			if c.status == 404 && strings.Contains(string(r.Body), "历山") {
				t.Errorf("404 leaks the region: %s", r.Body)
			}
		}
	}
	if r := f.env.Do(t, "", http.MethodGet, "/api/v1/reports/monthly?month=2026-10&region=370323", nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
	// The month in progress is reported as of today.
	d := decode(t, f.get(t, "s.county", "/api/v1/reports/monthly?month=2026-11&region=370323").Must(t, http.StatusOK))
	if d.Complete || d.AsOf != "2026-11-15" || d.To != "2026-11-30" {
		t.Errorf("current month: complete=%v as_of=%s to=%s", d.Complete, d.AsOf, d.To)
	}
	// As of the 15th: A7 (due 2 November) is overdue, A8 closed on the
	// 3rd is closed late, B3's clock runs again since the reply (2
	// November) with its due date long passed.
	var got []string
	for _, o := range d.Overdue {
		got = append(got, idName(f, o.CaseID)+" "+o.Status)
	}
	if strings.Join(got, ",") != "A5 open,A8 closed_late,A9 open,A7 open,B3 open" {
		t.Errorf("November overdue: %v", got)
	}
}
