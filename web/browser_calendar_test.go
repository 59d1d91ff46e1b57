package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// test2027Calendar is a 2027 calendar file made up for this test only —
// TEST DATA, not a holiday notice. The built-in calendar ends with 2026,
// the State Council has not published 2027, and no real holiday date may
// be invented for the product. Its days off, each named 测试数据, are
// 1 January and fourteen Mondays from February on (an import wants at
// least eleven days off a year).
func test2027Calendar() []byte {
	lines := []string{"date,kind,name", "2027-01-01,off,测试数据"}
	for d := time.Date(2027, 2, 1, 0, 0, 0, 0, calendar.Shanghai); len(lines) < 16; d = d.AddDate(0, 0, 7) {
		lines = append(lines, d.Format("2006-01-02")+",off,测试数据")
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// TestBrowserDueDatePastTheCalendar: on Sunday 6 December 2026 (the
// test's clock) a case is delegated with a limit of 20 working days. The
// built-in calendar ends with 2026, so its due date, 2027-01-01 by the
// plain weekday rule, is shown as 暂定 on the case page, in the desk's 在办
// queue and on the applicant's /track page. Once a 2027 calendar (test
// data, see test2027Calendar) is imported, the same pages show the
// recomputed date, 2027-01-04, and no 暂定.
func TestBrowserDueDatePastTheCalendar(t *testing.T) {
	browser := startBrowser(t)
	clock := apptest.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, calendar.Shanghai))
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now, ScanInterval: time.Hour})
	env.User(t, "c.town", "township_agent", "370323001")
	env.User(t, "c.admin", "admin", "370323")
	if y := env.App.Calendar.Years(); y[len(y)-1] != 2026 {
		t.Fatalf("the built-in calendar ends with %d, this test expects 2026", y[len(y)-1])
	}
	id := env.Delegate(t, "c.town", "370323001", "YP002") // 20 working days
	num := number(t, env, id)
	var code string
	if err := env.Pool.QueryRow(context.Background(), "SELECT tracking_code FROM cases WHERE id = $1", id).Scan(&code); err != nil {
		t.Fatal(err)
	}
	shots := artifacts(t)
	agent := newTab(t, browser, env, "agent", desktop, shots)
	applicant := newTab(t, browser, env, "applicant", phone, shots)
	sc := newScenario(t, agent, applicant)

	if !sc.step("the case page says 暂定", func(t *testing.T) {
		agent.login("c.town")
		agent.open(fmt.Sprintf("/cases/%d", id))
		agent.sees("#case-state", "已委托")
		if got := agent.text("#case-due"); got != "2027-01-01" {
			t.Errorf("the case is due %q, want 2027-01-01", got)
		}
		agent.sees("#case .provisional", "暂定")
		agent.sees("#case-due-provisional", "下一年度国务院节假日安排尚未导入")
		agent.shot("case-provisional")
	}) {
		return
	}
	if !sc.step("the desk says 暂定", func(t *testing.T) {
		agent.open("/desk")
		agent.sees("#count-active", "1", "在办")
		agent.sees("#q-active", num, "承诺 2027-01-01 前（暂定）")
		agent.shot("desk-provisional")
	}) {
		return
	}
	if !sc.step("/track says 暂定", func(t *testing.T) {
		applicant.open("/track/" + code)
		applicant.sees("#track-state", "已委托")
		applicant.sees("#track-due", "2027-01-01 前")
		applicant.sees("#track-due-provisional", "此日期为暂定")
		applicant.noSideScroll()
		applicant.shot("track-provisional")
	}) {
		return
	}
	if !sc.step("2027 imported", func(t *testing.T) {
		res, err := env.App.Deadlines.ImportCalendar(t.Context(), test2027Calendar(), "c.admin", false)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Covered) != "[2024 2025 2026 2027]" {
			t.Fatalf("the import covers %v", res.Covered)
		}
	}) {
		return
	}
	sc.step("the pages show the recomputed date", func(t *testing.T) {
		// 1 January is off in the test file: the 20th working day after
		// 6 December is Monday 4 January.
		agent.open(fmt.Sprintf("/cases/%d", id))
		if got := agent.text("#case-due"); got != "2027-01-04" {
			t.Errorf("after the import the case is due %q, want 2027-01-04", got)
		}
		if n := eval[int](agent, `document.querySelectorAll("#case-due-provisional, #case .provisional").length`); n != 0 {
			t.Error("the case page still says 暂定")
		}
		agent.shot("case-confirmed")
		agent.open("/desk")
		agent.sees("#q-active", num, "承诺 2027-01-04 前")
		if strings.Contains(agent.text("#q-active"), "暂定") {
			t.Error("the desk still says 暂定")
		}
		agent.shot("desk-confirmed")
		applicant.open("/track/" + code)
		applicant.sees("#track-due", "2027-01-04 前")
		if strings.Contains(applicant.text("main"), "暂定") {
			t.Error("/track still says 暂定")
		}
		applicant.shot("track-confirmed")
	})
}
