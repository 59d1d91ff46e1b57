package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// page signs username in with a cookie session and returns a function
// that reads a page's HTML.
func page(t *testing.T, env *apptest.Env, username string) func(path string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, env.Server.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if username != "" {
		// The sign-in form's pre-session token comes with the page.
		_, page := get(http.MethodGet, "/login", nil)
		_, rest, _ := strings.Cut(page, `name="csrf_token" value="`)
		tok, _, _ := strings.Cut(rest, `"`)
		if st, _ := get(http.MethodPost, "/login", url.Values{"username": {username}, "password": {apptest.Password}, "csrf_token": {tok}}); st != http.StatusSeeOther {
			t.Fatalf("sign-in of %s: %d", username, st)
		}
	}
	return func(path string) string {
		t.Helper()
		st, body := get(http.MethodGet, path, nil)
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		return body
	}
}

// calendarNotices returns the calendar reminders in a user's notices.
func calendarNotices(t *testing.T, env *apptest.Env, username string) []map[string]any {
	t.Helper()
	r := env.Do(t, env.Token(t, username), http.MethodGet, "/api/v1/notices", nil, nil).Must(t, http.StatusOK)
	var out []map[string]any
	for _, it := range r.JSON["items"].([]any) {
		if n := it.(map[string]any); n["kind"] == deadlines.CalendarDue {
			out = append(out, n)
		}
	}
	return out
}

// year2027ForTest is a 2027 calendar file made up for this test only (TEST
// DATA, not a holiday notice): the State Council has not published 2027,
// and no real holiday date may be invented. Its days off, all marked 测试,
// are 1 January and fourteen Mondays from February on.
func year2027ForTest() []byte {
	lines := []string{"date,kind,name", "2027-01-01,off,测试"}
	for d := time.Date(2027, 2, 1, 0, 0, 0, 0, calendar.Shanghai); len(lines) < 16; d = d.AddDate(0, 0, 7) {
		lines = append(lines, d.Format("2006-01-02")+",off,测试")
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// TestDueDatePastTheCalendarIsProvisional: the built-in calendar ends
// with 2026. A case delegated on Sunday 6 December 2026 with a limit of
// 20 working days is due on Friday 1 January 2027 by the plain weekday
// rule; it is shown as 暂定 in the API, on the case page, on the
// applicant's /track page and on the supervisor's list, and its warning
// says so. The administrator and the county's supervisors are asked, once,
// to import 2027. Importing 2027 recomputes the date (a ledger entry) and
// it is no longer provisional; a provisional date the import keeps is
// confirmed with a ledger entry. A case due inside 2026 is never
// provisional.
func TestDueDatePastTheCalendarIsProvisional(t *testing.T) {
	t.Parallel()
	clk := apptest.NewClock(shanghai("2026-12-06 10:00")) // Sunday
	url := apptest.NewDatabase(t)
	env := apptest.NewShared(t, url, apptest.Options{Now: clk.Now, ScanInterval: time.Hour})
	env.User(t, "v.town", "township_agent", "370323001")
	env.User(t, "v.admin", "admin", "370323")
	env.User(t, "v.csuper", "supervisor", "370323")
	env.User(t, "v.tsuper", "supervisor", "370323001") // a township's: not asked for the calendar
	tok := env.Token(t, "v.town")
	if y := env.App.Calendar.Years(); y[len(y)-1] != 2026 {
		t.Fatalf("the built-in calendar ends with %d, this test expects 2026", y[len(y)-1])
	}

	late := env.Delegate(t, "v.town", "370323001", "YP002") // 20 working days
	inside := env.Delegate(t, "v.town", "370323001", "SP001")
	caseJSON := func(id int64) map[string]any {
		return env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, http.StatusOK).JSON
	}
	code := caseJSON(late)["tracking_code"].(string)
	agent := page(t, env, "v.town")
	public := page(t, env, "")

	t.Run("provisional before the import", func(t *testing.T) {
		c := caseJSON(late)
		if c["due_date"] != "2027-01-01" || c["due_provisional"] != true {
			t.Fatalf("API: due %v provisional %v, want 2027-01-01 provisional", c["due_date"], c["due_provisional"])
		}
		if c := caseJSON(inside); c["due_date"] != "2026-12-11" || c["due_provisional"] != false {
			t.Fatalf("a case due in 2026: due %v provisional %v", c["due_date"], c["due_provisional"])
		}
		body := agent(fmt.Sprintf("/cases/%d", late))
		if !strings.Contains(body, `id="case-due">2027-01-01</strong>`) || !strings.Contains(body, ">暂定</span>") || !strings.Contains(body, `id="case-due-provisional"`) {
			t.Fatalf("the case page does not show 2027-01-01 as 暂定:\n%s", between(body, "承诺时限", "</dd>"))
		}
		if body := agent(fmt.Sprintf("/cases/%d", inside)); !strings.Contains(body, `id="case-due">2026-12-11</strong>`) || strings.Contains(body, "暂定") {
			t.Fatal("the case page of a case due in 2026 says 暂定")
		}
		tr := public("/track/" + code)
		if !strings.Contains(tr, "2027-01-01 前") || !strings.Contains(tr, ">暂定</span>") || !strings.Contains(tr, `id="track-due-provisional"`) {
			t.Fatalf("/track does not show the due date as 暂定:\n%s", between(tr, "承诺办结", "</dd>"))
		}
		api := env.Do(t, "", http.MethodGet, "/api/v1/track/"+code, nil, nil).Must(t, http.StatusOK).JSON
		if api["due_provisional"] != true {
			t.Fatalf("/api/v1/track: due_provisional %v", api["due_provisional"])
		}
	})

	t.Run("the administrator and the county's supervisors are asked once", func(t *testing.T) {
		// Sunday, outside working hours: the reminder goes out all the
		// same. Scanned again, by another server too: still once.
		other := apptest.NewShared(t, url, apptest.Options{Now: clk.Now, ScanInterval: time.Hour})
		for _, e := range []*apptest.Env{env, env, other} {
			if _, err := e.App.Deadlines.Scan(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []string{"v.admin", "v.csuper"} {
			ns := calendarNotices(t, env, u)
			if len(ns) != 1 {
				t.Fatalf("%s has %d calendar notices, want 1", u, len(ns))
			}
			title, body := ns[0]["title"].(string), ns[0]["body"].(string)
			if title != "请导入 2027 年节假日安排" || !strings.Contains(body, "daiban calendar import") || !strings.Contains(body, "国务院办公厅") || ns[0]["kind_name"] != "节假日安排待导入" {
				t.Fatalf("%s: %q %q", u, title, body)
			}
		}
		for _, u := range []string{"v.tsuper", "v.town"} {
			if ns := calendarNotices(t, env, u); len(ns) != 0 {
				t.Fatalf("%s was asked for the calendar: %v", u, ns)
			}
		}
	})

	t.Run("the warning says the date is provisional", func(t *testing.T) {
		clk.Set(shanghai("2026-12-30 09:00")) // Wednesday: two working days left
		if _, err := env.App.Deadlines.Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := env.Do(t, tok, http.MethodGet, "/api/v1/notices", nil, nil).Must(t, http.StatusOK)
		found := false
		for _, it := range r.JSON["items"].([]any) {
			n := it.(map[string]any)
			if n["kind"] == deadlines.Warn3 && n["deadline"] == "2027-01-01" {
				found = true
				if !strings.Contains(n["body"].(string), "该日期为暂定") {
					t.Errorf("the warning does not say the date is provisional: %s", n["body"])
				}
			}
		}
		if !found {
			t.Fatalf("no warn_3 notice for the case due 2027-01-01: %s", r.Body)
		}
		if desk := agent("/desk"); !strings.Contains(desk, "承诺 2027-01-01 前（暂定）") {
			t.Errorf("the desk does not mark the date as 暂定")
		}
		super := page(t, env, "v.csuper")("/supervision")
		if !strings.Contains(super, "应于 2027-01-01（暂定） 办结") {
			t.Fatalf("the supervision list does not mark the date:\n%s", between(super, `id="due-soon"`, "</section>"))
		}
	})

	// A case delegated in 2027 before the import, due inside the weeks
	// the test file leaves as plain working days: the import keeps it.
	clk.Set(shanghai("2027-01-05 10:00")) // Tuesday
	kept := env.Delegate(t, "v.town", "370323001", "SP001")
	if c := caseJSON(kept); c["due_date"] != "2027-01-12" || c["due_provisional"] != true {
		t.Fatalf("a case delegated in 2027: due %v provisional %v", c["due_date"], c["due_provisional"])
	}

	t.Run("the import of 2027 recomputes", func(t *testing.T) {
		res, err := env.App.Deadlines.ImportCalendar(t.Context(), year2027ForTest(), "v.admin", false)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Covered) != "[2024 2025 2026 2027]" || len(res.Confirmed) != 1 || res.Confirmed[0].CaseID != kept {
			t.Fatalf("import: %+v", res)
		}
		// 1 January is off in the file, so the 20th working day after
		// 6 December is Monday 4 January.
		c := caseJSON(late)
		if c["due_date"] != "2027-01-04" || c["due_provisional"] != false {
			t.Fatalf("after the import: due %v provisional %v, want 2027-01-04 not provisional", c["due_date"], c["due_provisional"])
		}
		ch := ledgerOf(t, env, late, "case.due_changed")
		if len(ch) != 1 || ch[0]["old_due"] != "2027-01-01" || ch[0]["new_due"] != "2027-01-04" || ch[0]["was_provisional"] != true || !strings.Contains(ch[0]["note"].(string), "暂定") {
			t.Fatalf("ledger: %v", ch)
		}
		if cf := ledgerOf(t, env, kept, "case.due_confirmed"); len(cf) != 1 || cf[0]["due"] != "2027-01-12" {
			t.Fatalf("the kept date is not confirmed in the ledger: %v", cf)
		}
		if c := caseJSON(kept); c["due_provisional"] != false {
			t.Fatal("the kept date is still provisional")
		}
		if ch := ledgerOf(t, env, inside, "case.due_changed"); len(ch) != 0 {
			t.Fatalf("a 2026 due date moved: %v", ch)
		}
		// (The timeline below may quote the old provisional date.)
		due := between(agent(fmt.Sprintf("/cases/%d", late)), "承诺时限", "</dd>")
		if !strings.Contains(due, `id="case-due">2027-01-04</strong>`) || strings.Contains(due, "暂定") {
			t.Fatalf("the case page after the import: %s", due)
		}
		if tr := between(public("/track/"+code), "承诺办结", "</dd>"); !strings.Contains(tr, "2027-01-04 前") || strings.Contains(tr, "暂定") {
			t.Fatalf("/track after the import: %s", tr)
		}
	})
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}
