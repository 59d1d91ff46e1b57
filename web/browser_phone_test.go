package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// phoneWidth is the narrowest phone the pages are made for.
const phoneWidth = 360

// fitsPhone checks that the page is no wider than a 360 px phone (no
// sideways scrolling) and saves its screenshot.
func (b *tab) fitsPhone(step string) {
	b.t.Helper()
	w := eval[float64](b, `document.documentElement.scrollWidth`)
	b.shot(step)
	if w > phoneWidth {
		b.t.Errorf("%s: %s is %.0f px wide on a %d px phone", b.name, b.location(), w, phoneWidth)
	}
}

// TestBrowserVillagePagesFitAPhone opens, on a 360×740 phone, every page
// a village agent can reach — signed out (sign-in, tracking, document
// verification) and signed in (its errands, a new errand, the case page,
// the intake receipt, the notices inbox) — and checks that none scrolls
// sideways. A township agent's intake page fits too, with the matter list
// readable in the page (no small inner scroll box) and the single matters
// right under the 一件事; the desk's search box stays inside its card.
func TestBrowserVillagePagesFitAPhone(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "w.cun", "village_agent", "370323001001")
	env.User(t, "w.town", "township_agent", "370323001")
	env.User(t, "w.super", "supervisor", "370323001")
	// The village agent's errand, with a 督办 note (a notice in its inbox)
	// and a sealed one-time notice (a document to verify).
	id, _ := env.CreateCase(t, env.Token(t, "w.cun"), "370323001001", "GT001")
	env.Act(t, env.Token(t, "w.super"), id, env.Version(t, id), "supervise", map[string]any{"note": "请尽快联系申请人，核对经营场所地址与营业执照是否一致"}).Must(t, http.StatusOK)
	env.Do(t, env.Token(t, "w.cun"), http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", id), nil, nil).Must(t, http.StatusCreated)
	var code, sha string
	if err := env.Pool.QueryRow(context.Background(), `SELECT c.tracking_code, encode(d.sha256, 'hex') FROM cases c JOIN documents d ON d.case_id = c.id WHERE c.id = $1`, id).Scan(&code, &sha); err != nil {
		t.Fatal(err)
	}
	shots := artifacts(t)
	ph := newTab(t, browser, env, "village", phone, shots)
	sc := newScenario(t, ph)
	casePath := fmt.Sprintf("/cases/%d", id)

	if !sc.step("signed out", func(t *testing.T) {
		for _, p := range []struct{ path, name string }{
			{"/login", "login"}, {"/track", "track-lookup"}, {"/track/" + code, "track"}, {"/verify/" + sha, "verify"},
		} {
			ph.open(p.path)
			ph.fitsPhone(p.name)
		}
	}) {
		return
	}
	if !sc.step("village agent", func(t *testing.T) {
		if loc := ph.login("w.cun"); loc != "/village" {
			t.Fatalf("village agent lands on %s", loc)
		}
		for _, p := range []struct{ path, name string }{
			{"/village", "village"}, {"/village/new", "village-new"}, {casePath, "case"}, {casePath + "/receipt", "receipt"},
			{"/notices", "notices"}, {"/track/" + code, "track-signed-in"}, {"/verify/" + sha, "verify-signed-in"},
		} {
			ph.open(p.path)
			ph.fitsPhone(p.name)
		}
		ph.open(casePath + "/receipt")
		ph.sees("#receipt", "受理回执", code, "尚未收取材料")
		// Printed, the receipt is the paper alone: no navigation, no buttons.
		if shown := ph.printed("receipt-printed", "header.top", ".receipt-tools", "#receipt"); shown[0] != "none" || shown[1] != "none" || shown[2] == "none" {
			t.Errorf("printed receipt: header %s, buttons %s, receipt %s", shown[0], shown[1], shown[2])
		}
	}) {
		return
	}

	town := newTab(t, browser, env, "township", phone, shots)
	sc.with(town)
	sc.step("township agent at intake and desk", func(t *testing.T) {
		town.login("w.town")
		town.open("/intake")
		town.fitsPhone("intake")
		// The whole list is in the page: no inner box to scroll, and the
		// single matters follow the 一件事 with their names showing.
		list := eval[[]float64](town, `(() => { const m = document.querySelector("#matters"); return [m.scrollHeight, m.clientHeight]; })()`)
		if list[0] > list[1]+1 {
			t.Errorf("the matter list scrolls inside a box: %.0f px of content in %.0f px", list[0], list[1])
		}
		town.sees("#matters", "一件事", "单项事项")
		singles := eval[int](town, `[...document.querySelectorAll("#matters .opt")].filter(o => o.getBoundingClientRect().height > 30 && o.querySelector("b").textContent.trim() !== "").length`)
		if singles < 30 {
			t.Errorf("only %d matters show in the list", singles)
		}
		// The filter narrows the list in place.
		town.fill("#matter-q", "食品")
		shown := eval[int](town, `document.querySelectorAll("#matters .opt:not(.hidden)").length`)
		if shown == 0 || shown >= singles {
			t.Errorf("filtering by 食品 shows %d of %d matters", shown, singles)
		}
		town.fitsPhone("intake-filtered")
		town.open("/desk")
		town.fitsPhone("desk")
		town.fill("#q", "370323")
		town.fitsPhone("desk-search-typed")
		box := eval[[]float64](town, `(() => { const q = document.querySelector("#q").getBoundingClientRect(), c = document.querySelector("#q").closest(".card").getBoundingClientRect(); return [q.right, c.right]; })()`)
		if box[0] > box[1] {
			t.Errorf("the desk's search box ends at %.0f px, past its card at %.0f px", box[0], box[1])
		}
	})
	// The same intake page on the counter's screen, for the record.
	desk := newTab(t, browser, env, "counter", desktop, shots)
	sc.with(desk)
	sc.step("intake on the counter's screen", func(t *testing.T) {
		desk.login("w.town")
		desk.open("/intake")
		desk.sees("#matters", "单项事项")
		desk.shot("intake-desktop")
	})
}
