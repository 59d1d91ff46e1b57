package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

func shanghai(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func dueOf(t *testing.T, env *apptest.Env, id int64) string {
	t.Helper()
	var due *time.Time
	if err := env.Pool.QueryRow(t.Context(), "SELECT due_date FROM cases WHERE id = $1", id).Scan(&due); err != nil {
		t.Fatal(err)
	}
	if due == nil {
		return ""
	}
	return due.Format("2006-01-02")
}

// ledgerOf returns the payloads of a case's ledger entries of one type.
func ledgerOf(t *testing.T, env *apptest.Env, id int64, typ string) []map[string]any {
	t.Helper()
	rows, err := env.Pool.Query(t.Context(), "SELECT payload FROM ledger_entries WHERE case_id = $1 AND type = $2 ORDER BY id", id, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var b []byte
		var m map[string]any
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestClockPausesComeFromEvents: the due date moves by the working days a
// case spent suspended or at a higher authority, as its ledger records
// them, and each move is a ledger entry.
func TestClockPausesComeFromEvents(t *testing.T) {
	t.Parallel()
	clk := apptest.NewClock(shanghai("2026-03-02 09:00")) // Monday
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clk.Now})
	env.User(t, "k.town", "township_agent", "370323001")
	env.User(t, "k.county", "county_agent", "370323")
	tok := env.Token(t, "k.town")
	id := env.Delegate(t, "k.town", "370323001", "SP001") // 5 working days
	if d := dueOf(t, env, id); d != "2026-03-09" {
		t.Fatalf("due %s, want 2026-03-09", d)
	}
	act := func(when, action string, body map[string]any) {
		t.Helper()
		clk.Set(shanghai(when))
		env.Act(t, tok, id, env.Version(t, id), action, body).Must(t, 200)
	}
	act("2026-03-02 10:00", "progress", map[string]any{"note": "已送审批局"})
	// Suspended Wednesday, resumed Thursday: Wednesday does not count.
	act("2026-03-04 10:00", "suspend", map[string]any{"reason": "申请人出差"})
	if d := dueOf(t, env, id); d != "2026-03-09" {
		t.Fatalf("due moved while paused: %s", d)
	}
	act("2026-03-05 15:00", "resume", map[string]any{"reason": "申请人返回"})
	if d := dueOf(t, env, id); d != "2026-03-10" {
		t.Fatalf("after resume: due %s, want 2026-03-10", d)
	}
	// At the city bureau from Friday 10:00 to Thursday 09:00: Fri, Mon,
	// Tue, Wed come off.
	act("2026-03-06 10:00", "escalate", map[string]any{"level": "city", "authority": "淄博市行政审批服务局", "tracker": "k.county", "reply_due": "2026-03-20"})
	act("2026-03-12 09:00", "reply", map[string]any{"outcome": "approved", "note": "同意"})
	if d := dueOf(t, env, id); d != "2026-03-16" {
		t.Fatalf("after the reply: due %s, want 2026-03-16", d)
	}
	changes := ledgerOf(t, env, id, "case.due_changed")
	if len(changes) != 2 {
		t.Fatalf("%d due changes in the ledger: %v", len(changes), changes)
	}
	for i, want := range []struct {
		old, new string
		paused   float64
	}{{"2026-03-09", "2026-03-10", 1}, {"2026-03-10", "2026-03-16", 5}} {
		c := changes[i]
		if c["old_due"] != want.old || c["new_due"] != want.new || c["paused_workdays"] != want.paused || c["reason"] != "clock_restarted" {
			t.Errorf("change %d: %v", i, c)
		}
	}
	c := caseJSON(t, env, tok, id)
	if c["due_date"] != "2026-03-16" {
		t.Errorf("API shows due %v", c["due_date"])
	}
	replayLedger(t, env, id)
}

// calendarFile is the built-in 2026 notice with lines added: a corrected
// notice for the import tests.
func calendarFile(extra ...string) []byte {
	var lines []string
	for _, l := range strings.Split(string(calendar.Default().CSV()), "\n") {
		if strings.HasPrefix(l, "2026-") {
			lines = append(lines, l)
		}
	}
	return []byte("date,kind,name\n" + strings.Join(append(lines, extra...), "\n") + "\n")
}

// offDays makes n plausible days off (weekdays) in year, for a synthetic
// notice.
func offDays(year, n int) []string {
	var out []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, calendar.Shanghai); len(out) < n; d = d.AddDate(0, 0, 7) {
		for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			d = d.AddDate(0, 0, 1)
		}
		out = append(out, d.Format("2006-01-02")+",off,测试")
	}
	return out
}

func ledgerCount(t *testing.T, env *apptest.Env) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM ledger_entries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCalendarImport: a bad file changes nothing; a new notice recomputes
// the due dates of open cases (a ledger entry each, the case version
// moving on) and every running server takes it up within moments.
func TestCalendarImport(t *testing.T) {
	t.Parallel()
	clk := apptest.NewClock(shanghai("2026-02-27 09:00")) // Friday
	url := apptest.NewDatabase(t)
	env := apptest.NewShared(t, url, apptest.Options{Now: clk.Now})
	other := apptest.NewShared(t, url, apptest.Options{Now: clk.Now})
	env.User(t, "i.town", "township_agent", "370323001")
	tok := env.Token(t, "i.town")
	running := env.Delegate(t, "i.town", "370323001", "SP001")
	paused := env.Delegate(t, "i.town", "370323001", "SP001")
	env.Act(t, tok, paused, env.Version(t, paused), "suspend", map[string]any{"reason": "中止"}).Must(t, 200)
	// A 差评 rectification, due 15 working days after the rating: 19 March.
	rated, _ := env.CreateCase(t, tok, "370323001", "GT001")
	env.Act(t, tok, rated, env.Version(t, rated), "guide", map[string]any{"note": "现场指导"}).Must(t, 200)
	env.Act(t, tok, rated, env.Version(t, rated), "evaluate", map[string]any{"rating": 2, "comment": "等待久"}).Must(t, 200)
	// Signed Friday 27 February: Saturday 28th is a make-up working day.
	for _, id := range []int64{running, paused} {
		if d := dueOf(t, env, id); d != "2026-03-05" {
			t.Fatalf("due %s, want 2026-03-05", d)
		}
	}
	v0 := env.App.Calendar.Version()
	entries := ledgerCount(t, env)
	stale := env.Version(t, paused)

	bad := map[string]struct {
		data []byte
		want string
	}{
		"duplicate":    {calendarFile("2026-03-02,off,测试", "2026-03-02,off,测试"), "2026-03-02 重复"},
		"impossible":   {calendarFile("2026-02-29,off,测试"), "2026-02-29"},
		"weekday work": {calendarFile("2026-03-03,work,测试"), "2026-03-03 是星期二"},
		// 2026 and a (synthetic) 2028, without 2027.
		"missing year": {append(calendarFile(), []byte(strings.Join(offDays(2028, 15), "\n")+"\n")...), "缺少 2027 年"},
	}
	for name, b := range bad {
		_, err := env.App.Deadlines.ImportCalendar(t.Context(), b.data, "i.town", false)
		if daiban.ErrorCode(err) != daiban.EINVALID || !strings.Contains(daiban.ErrorMessage(err), b.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if env.App.Calendar.Version() != v0 || ledgerCount(t, env) != entries || dueOf(t, env, running) != "2026-03-05" || env.Version(t, paused) != stale {
		t.Fatal("a refused file changed something")
	}
	var days int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM calendar_days").Scan(&days); err != nil || days != 108 {
		t.Fatalf("calendar_days: %d %v", days, err)
	}

	// A dry run reports and writes nothing.
	good := calendarFile("2026-03-02,off,测试调整")
	res, err := env.App.Deadlines.ImportCalendar(t.Context(), good, "i.town", true)
	if err != nil || len(res.Changed) != 2 || !res.DryRun {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	if env.App.Calendar.Version() != v0 || ledgerCount(t, env) != entries {
		t.Fatal("the dry run wrote")
	}

	// A corrected 2026 notice: Monday 2 March becomes a day off.
	res, err = env.App.Deadlines.ImportCalendar(t.Context(), good, "i.town", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recomputed != 2 || len(res.Changed) != 2 || fmt.Sprint(res.Covered) != "[2024 2025 2026]" || res.Version != v0+1 {
		t.Fatalf("import: %+v", res)
	}
	if len(res.Rectifications) != 1 || res.Rectifications[0].Old != "2026-03-19" || res.Rectifications[0].New != "2026-03-20" {
		t.Fatalf("rectifications: %+v", res.Rectifications)
	}
	if ch := ledgerOf(t, env, rated, "case.rectification_due_changed"); len(ch) != 1 || ch[0]["new_due"] != "2026-03-20" {
		t.Fatalf("rectification ledger: %v", ch)
	}
	for _, id := range []int64{running, paused} {
		if d := dueOf(t, env, id); d != "2026-03-06" {
			t.Errorf("case %d due %s after the import, want 2026-03-06", id, d)
		}
		ch := ledgerOf(t, env, id, "case.due_changed")
		if len(ch) != 1 || ch[0]["old_due"] != "2026-03-05" || ch[0]["new_due"] != "2026-03-06" || ch[0]["reason"] != "calendar" {
			t.Errorf("case %d ledger: %v", id, ch)
		}
		replayLedger(t, env, id)
	}
	if n := ledgerCount(t, env); n != entries+4 {
		t.Errorf("%d ledger entries added, want 4 (two due changes, a rectification's, the import)", n-entries)
	}
	// An action prepared against the case before the import is stale.
	r := env.Act(t, tok, paused, stale, "resume", map[string]any{"reason": "续办"})
	if r.Status != 409 {
		t.Fatalf("stale action after the import: %d %s", r.Status, r.Body)
	}
	// The other server takes the new calendar up by itself.
	deadline := time.Now().Add(15 * time.Second)
	for other.App.Calendar.Version() != res.Version {
		if time.Now().After(deadline) {
			t.Fatalf("the other server still has calendar version %d", other.App.Calendar.Version())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if other.App.Calendar.IsWorkday(shanghai("2026-03-02 10:00")) {
		t.Fatal("the other server's calendar lacks the new day off")
	}
	// Resumed Tuesday 3 March: the pause took the make-up Saturday (and
	// Monday 2nd is off now), so Tue 3 .. Mon 9.
	clk.Set(shanghai("2026-03-03 09:00"))
	env.Act(t, tok, paused, env.Version(t, paused), "resume", map[string]any{"reason": "续办"}).Must(t, 200)
	if d := dueOf(t, env, paused); d != "2026-03-09" {
		t.Errorf("resumed: due %s, want 2026-03-09", d)
	}
}

// recorder is a Sender that remembers what it sent.
type recorder struct {
	mu   sync.Mutex
	sent []deadlines.Notice
}

func (r *recorder) Send(_ context.Context, n deadlines.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, n)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// TestSuperviseReachesHandler: a 督办 note is a notice to the case's
// handler (its assignee, else its creator), listed newest first with
// read/unread, private to its recipient, a ledger entry, and delivered by
// the sender.
func TestSuperviseReachesHandler(t *testing.T) {
	t.Parallel()
	sender := &recorder{}
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Sender: sender, ScanInterval: time.Second})
	env.User(t, "n.town", "township_agent", "370323001")
	env.User(t, "n.village", "village_agent", "370323001001")
	env.User(t, "n.super", "supervisor", "370323001")
	vtok, ttok, stok := env.Token(t, "n.village"), env.Token(t, "n.town"), env.Token(t, "n.super")
	id, _ := env.CreateCase(t, vtok, "370323001001", "GT001")
	env.Act(t, stok, id, env.Version(t, id), "supervise", map[string]any{"note": "请尽快联系申请人"}).Must(t, 200)
	env.Act(t, ttok, id, env.Version(t, id), "assign", map[string]any{"agent": "n.town"}).Must(t, 200)
	env.Act(t, stok, id, env.Version(t, id), "supervise", map[string]any{"note": "请本周内办结"}).Must(t, 200)

	list := func(tok, query string) map[string]any {
		return env.Do(t, tok, http.MethodGet, "/api/v1/notices"+query, nil, nil).Must(t, 200).JSON
	}
	v := list(vtok, "")
	items := v["items"].([]any)
	if len(items) != 1 || v["unread"].(float64) != 1 {
		t.Fatalf("village agent's notices: %v", v)
	}
	n := items[0].(map[string]any)
	if n["kind"] != "supervise" || !strings.Contains(n["body"].(string), "请尽快联系申请人") || n["read"] != false || n["case_id"].(float64) != float64(id) {
		t.Fatalf("notice %v", n)
	}
	tn := list(ttok, "")["items"].([]any)
	if len(tn) != 1 || !strings.Contains(tn[0].(map[string]any)["body"].(string), "请本周内办结") {
		t.Fatalf("assignee's notices: %v", tn)
	}
	// Private to its recipient.
	nid := int64(n["id"].(float64))
	env.Do(t, ttok, http.MethodPost, fmt.Sprintf("/api/v1/notices/%d/read", nid), nil, nil).Must(t, 404)
	env.Do(t, stok, http.MethodPost, fmt.Sprintf("/api/v1/notices/%d/read", nid), nil, nil).Must(t, 404)
	r := env.Do(t, vtok, http.MethodPost, fmt.Sprintf("/api/v1/notices/%d/read", nid), nil, nil).Must(t, 200)
	if r.JSON["read"] != true {
		t.Fatalf("read: %s", r.Body)
	}
	if v := list(vtok, "?unread=true"); len(v["items"].([]any)) != 0 || v["unread"].(float64) != 0 {
		t.Fatalf("after reading: %v", v)
	}
	env.Do(t, vtok, http.MethodGet, "/api/v1/notices?bogus=1", nil, nil).Must(t, 422)
	// Each notice is a ledger entry, linked from the notice.
	var linked int
	err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM notices n JOIN ledger_entries e ON e.id = n.ledger_entry
		WHERE e.type = 'notice.created' AND (convert_from(e.payload, 'UTF8')::jsonb->>'notice_id')::bigint = n.id`).Scan(&linked)
	if err != nil || linked != 2 {
		t.Fatalf("%d notices linked to their ledger entry (%v)", linked, err)
	}
	// The sender delivers both (the outbox is drained by the scan job).
	deadline := time.Now().Add(30 * time.Second)
	for sender.count() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("sent %d of 2", sender.count())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(env.Logs.String(), "请尽快联系申请人") {
		t.Error("the note reached the log")
	}
}

// TestSupervisionReport: a supervisor sees, in its region only, overdue
// and due-soon cases, cases at a higher authority and open 差评
// rectifications, with ID numbers masked; an agent closes a
// rectification.
func TestSupervisionReport(t *testing.T) {
	t.Parallel()
	clk := apptest.NewClock(shanghai("2026-03-02 09:00"))
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clk.Now})
	env.User(t, "r.town", "township_agent", "370323001")
	env.User(t, "r.other", "township_agent", "370323101")
	env.User(t, "r.county", "county_agent", "370323")
	env.User(t, "r.super", "supervisor", "370323001")
	env.User(t, "r.village", "village_agent", "370323001001")
	tok := env.Token(t, "r.town")
	soon := env.Delegate(t, "r.town", "370323001", "SP001")  // due 3/9
	late := env.Delegate(t, "r.town", "370323001", "GT001")  // due 3/3
	away := env.Delegate(t, "r.other", "370323101", "GT001") // another township
	upper := env.Delegate(t, "r.town", "370323001", "SP001") // escalated
	env.Act(t, tok, upper, env.Version(t, upper), "progress", map[string]any{"note": "送审"}).Must(t, 200)
	env.Act(t, tok, upper, env.Version(t, upper), "escalate", map[string]any{"level": "province", "authority": "山东省药品监督管理局", "tracker": "r.county", "reply_due": "2026-03-04"}).Must(t, 200)
	rated, _ := env.CreateCase(t, tok, "370323001", "GT001")
	env.Act(t, tok, rated, env.Version(t, rated), "guide", map[string]any{"note": "现场指导"}).Must(t, 200)
	env.Act(t, tok, rated, env.Version(t, rated), "evaluate", map[string]any{"rating": 1, "comment": "态度差"}).Must(t, 200)

	clk.Set(shanghai("2026-03-05 10:00"))
	r := env.Do(t, env.Token(t, "r.super"), http.MethodGet, "/api/v1/supervision", nil, nil).Must(t, 200)
	ids := func(key string) []int64 {
		var out []int64
		for _, it := range r.JSON[key].([]any) {
			out = append(out, int64(it.(map[string]any)["id"].(float64)))
		}
		return out
	}
	if fmt.Sprint(ids("overdue")) != fmt.Sprint([]int64{late}) || fmt.Sprint(ids("due_soon")) != fmt.Sprint([]int64{soon}) ||
		fmt.Sprint(ids("escalated")) != fmt.Sprint([]int64{upper}) || fmt.Sprint(ids("rectifications")) != fmt.Sprint([]int64{rated}) {
		t.Fatalf("report: %s", r.Body)
	}
	o := r.JSON["overdue"].([]any)[0].(map[string]any)
	s := r.JSON["due_soon"].([]any)[0].(map[string]any)
	e := r.JSON["escalated"].([]any)[0].(map[string]any)
	rc := r.JSON["rectifications"].([]any)[0].(map[string]any)
	if o["due_date"] != "2026-03-03" || o["workdays_overdue"].(float64) != 2 || s["workdays_left"].(float64) != 2 ||
		e["reply_due"] != "2026-03-04" || e["overdue"] != true || e["tracker"] != "r.county" ||
		rc["due_date"] != "2026-03-23" || rc["overdue"] != false || rc["rating"].(float64) != 1 {
		t.Fatalf("report details: %s", r.Body)
	}
	for _, p := range []int{0, 1, 2, 3} {
		if id := apptest.Person(t, p)["id_number"]; strings.Contains(string(r.Body), id) {
			t.Fatal("the report shows a full ID number")
		}
	}
	if !strings.Contains(string(r.Body), "**********") {
		t.Fatal("no masked ID number in the report")
	}
	// Scope: the county agent sees the other township's case too; a
	// region outside the caller's is refused; a village agent may not.
	c := env.Do(t, env.Token(t, "r.county"), http.MethodGet, "/api/v1/supervision", nil, nil).Must(t, 200)
	if !strings.Contains(string(c.Body), fmt.Sprintf(`"id":%d,`, away)) {
		t.Fatalf("county report lacks case %d", away)
	}
	env.Do(t, env.Token(t, "r.super"), http.MethodGet, "/api/v1/supervision?region=370323101", nil, nil).Must(t, 403)
	env.Do(t, env.Token(t, "r.super"), http.MethodGet, "/api/v1/supervision?region=370323001001", nil, nil).Must(t, 200)
	env.Do(t, env.Token(t, "r.village"), http.MethodGet, "/api/v1/supervision", nil, nil).Must(t, 403)

	// Closing the rectification.
	path := fmt.Sprintf("/api/v1/cases/%d/rectification", rated)
	env.Do(t, tok, http.MethodPost, path, map[string]any{"result": ""}, nil).Must(t, 422)
	env.Do(t, env.Token(t, "r.super"), http.MethodPost, path, map[string]any{"result": "已回访"}, nil).Must(t, 403)
	env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/rectification", soon), map[string]any{"result": "无"}, nil).Must(t, 409)
	done := env.Do(t, tok, http.MethodPost, path, map[string]any{"result": "已上门回访并致歉，改进窗口服务"}, nil).Must(t, 200)
	rect := done.JSON["rectification"].(map[string]any)
	if rect["status"] != "rectified" || rect["result"] != "已上门回访并致歉，改进窗口服务" {
		t.Fatalf("rectification: %v", rect)
	}
	env.Do(t, tok, http.MethodPost, path, map[string]any{"result": "again"}, nil).Must(t, 409)
	led := ledgerOf(t, env, rated, "case.rectified")
	if len(led) != 1 || led[0]["on_time"] != true || led[0]["due_date"] != "2026-03-23" {
		t.Fatalf("ledger: %v", led)
	}
	r = env.Do(t, env.Token(t, "r.super"), http.MethodGet, "/api/v1/supervision", nil, nil).Must(t, 200)
	if len(r.JSON["rectifications"].([]any)) != 0 {
		t.Fatal("a closed rectification is still listed")
	}
	replayLedger(t, env, rated)
}
