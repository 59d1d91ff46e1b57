package web_test

import (
	"net/http"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestBrowserDeskAndInboxOnAPhone: on a 360 px phone the desk with its
// filters and the notices inbox fit the screen; a 督办 note shows in the
// navigation's count and the inbox, and reading it (the form's button)
// clears the count. The village agent's inbox fits too.
func TestBrowserDeskAndInboxOnAPhone(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "i.town", "township_agent", "370323001")
	env.User(t, "i.cun", "village_agent", "370323001001")
	env.User(t, "i.super", "supervisor", "370323001")
	id, _ := env.CreateCase(t, env.Token(t, "i.town"), "370323001", "YP001")
	sup := env.Token(t, "i.super")
	env.Act(t, sup, id, env.Version(t, id), "supervise", map[string]any{"note": "请尽快联系申请人补充说明"}).Must(t, http.StatusOK)
	shots := artifacts(t)
	ph := newTab(t, browser, env, "phone", phone, shots)
	sc := newScenario(t, ph)

	if !sc.step("desk on a phone", func(t *testing.T) {
		if loc := ph.login("i.town"); loc != "/desk" {
			t.Fatalf("agent lands on %s", loc)
		}
		ph.sees("#count-new", "1", "新接待")
		ph.sees("#nav-notices", "通知", "1")
		ph.noSideScroll()
		ph.open("/desk?all=1&sort=-due")
		ph.sees("#filters", "经办人", "事项", "排序")
		ph.noSideScroll()
		ph.shot("desk-phone")
	}) {
		return
	}
	if !sc.step("inbox on a phone", func(t *testing.T) {
		ph.follow("#nav-notices")
		ph.sees("#notices", "督办意见", "请尽快联系申请人补充说明", "未读")
		ph.noSideScroll()
		ph.shot("inbox-unread")
		if st := ph.submit("#notices button.secondary"); st != http.StatusOK {
			t.Fatalf("marking read answered %d", st)
		}
		ph.sees("#unread-summary", "没有未读通知")
		if n := eval[int](ph, `document.querySelectorAll("#unread-count").length`); n != 0 {
			t.Errorf("the unread count stays after reading")
		}
		ph.shot("inbox-read")
	}) {
		return
	}
	village := newTab(t, browser, env, "village", phone, shots)
	sc.with(village)
	sc.step("village agent's inbox on a phone", func(t *testing.T) {
		village.login("i.cun")
		village.follow("#nav-notices")
		village.sees("#unread-summary", "没有未读通知")
		village.noSideScroll()
	})
}
