package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// link is the phone's connection to the service, between the browser and
// the service: up, down (every connection is cut before a byte of answer),
// or losing acknowledgements (a new errand is committed by the service,
// then the connection is cut before the answer leaves).
type link struct {
	h http.Handler

	mu        sync.Mutex
	down      bool
	loseAcks  bool
	lostCount int
}

func (l *link) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	down, lose := l.down, l.loseAcks && r.Method == http.MethodPost && r.URL.Path == "/api/v1/cases"
	l.mu.Unlock()
	if lose {
		rec := httptest.NewRecorder()
		l.h.ServeHTTP(rec, r) // committed (or replayed) by the service
		l.mu.Lock()
		l.lostCount++
		l.mu.Unlock()
	}
	if down || lose {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	l.h.ServeHTTP(w, r)
}

func (l *link) set(f func(l *link)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

func (l *link) lost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostCount
}

// offline switches the phone's network off or on as Chromium's network
// emulation does (the pages and the service worker see no network,
// navigator.onLine follows), and the link with it, so nothing reaches the
// service by another way.
func (b *tab) offline(l *link, off bool) {
	b.t.Helper()
	l.set(func(l *link) { l.down = off })
	b.run(fmt.Sprintf("network offline=%v", off), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &off,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// reopen closes the tab and opens another in the same browser context
// (cookies, service worker, IndexedDB: the installed app closed and opened
// again), with the network as it was: off. The new tab lives as long as
// the whole test (parent), not the step.
func (b *tab) reopen(parent *testing.T, l *link, browser context.Context) *tab {
	t := b.t
	t.Helper()
	id := chromedp.FromContext(b.ctx).BrowserContextID
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithExistingBrowserContext(id))
	parent.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phone.w, phone.h, chromedp.EmulateTouch, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	nb := &tab{t: t, name: b.name + "-reopened", ctx: ctx, base: b.base, shots: b.shots}
	if err := chromedp.Listen(ctx, nb.heard); err != nil {
		t.Fatal(err)
	}
	b.run("close the app", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.Close, cdp.Empty{})
		return err
	}))
	nb.offline(l, true)
	return nb
}

// outboxStates returns the statuses the outbox shows, in its order.
func (b *tab) outboxStates() []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll("#outbox .ob-status")].map(e => e.textContent)`)
}

// waitOutbox waits until the outbox shows exactly want (in order).
func (b *tab) waitOutbox(want ...string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := b.outboxStates()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed")
			b.t.Fatalf("%s: the outbox shows %v, want %v", b.name, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserVillageOffline walks the village app on a 360×740 phone
// without signal: one visit with signal, then the network off; three
// errands and two hand-overs of originals go into the outbox (待上传),
// survive a reload, and with the network back the errands and the first
// hand-over reach the service once each (已上传) while the second, whose
// original the township took meanwhile, shows 需处理 with the service's
// message. Then an errand whose acknowledgement is lost (committed, the
// connection cut before the answer) is resent after a reload and is still
// there once; an errand filed after the session ended waits for the
// sign-in and goes out after it (with the new session's CSRF token); an
// errand refused as a duplicate comes back into the form and goes once
// with a reason, one for a withdrawn matter shows the service's words;
// signing out with an unsent item warns, keeps it and clears the rest, and
// with nothing unsent clears the phone. The database is counted at each
// step, not only the page.
func TestBrowserVillageOffline(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "o.cun", "village_agent", "370323001001")
	env.User(t, "o.town", "township_agent", "370323001")
	ctx := context.Background()
	cun := env.Token(t, "o.cun")
	caseA, _ := env.CreateCase(t, cun, "370323001001", "GT001")
	caseB, _ := env.CreateCase(t, cun, "370323001001", "GT001")
	net := &link{h: env.App.HTTP.Echo}
	srv := httptest.NewServer(net)
	t.Cleanup(srv.Close)
	shots := artifacts(t)
	ph := newTab(t, browser, env, "phone", phone, shots)
	ph.base = srv.URL
	sc := newScenario(t, ph)
	count := func(t *testing.T, query string, args ...any) int {
		t.Helper()
		var n int
		if err := env.Pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	errands := func(t *testing.T) int {
		return count(t, `SELECT count(*) FROM cases WHERE created_by = 'o.cun'`)
	}
	moves := func(t *testing.T, id int64) int {
		return count(t, `SELECT count(*) FROM custody_moves WHERE case_id = $1`, id)
	}
	// Villagers other than the applicant of the two cases made above (a
	// second errand for the same person and matter would be refused).
	var people []map[string]string
	for i := 20; i < 25; i++ {
		people = append(people, apptest.Person(t, i))
	}
	// fileErrand files an errand and waits until the outbox holds it (the
	// form is cleared for the next one then).
	fileErrand := func(p map[string]string, summary string) {
		before := len(ph.outboxStates())
		ph.set("#intake-matter", "GT001")
		ph.fill("#intake-name", p["name"])
		ph.fill("#intake-id-number", p["id_number"])
		ph.fill("#intake-phone", p["phone"])
		ph.fill("#intake-summary", summary)
		ph.click("#errand-submit")
		ph.sees("#village-note", "已保存在本机")
		deadline := time.Now().Add(10 * time.Second)
		for len(ph.outboxStates()) == before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}

	if !sc.step("one visit with signal", func(t *testing.T) {
		if loc := ph.login("o.cun"); loc != "/village" {
			t.Fatalf("village agent lands on %s", loc)
		}
		ph.sees("#open-errands .n", "2")
		ph.sees("#synced", "已保存到本机")
		if got := ph.fetchStatus("/village/manifest.webmanifest"); got != "200 application/manifest+json" {
			t.Errorf("manifest: %s", got)
		}
		if got := ph.fetchStatus("/village/icon-512.png"); got != "200 image/png" {
			t.Errorf("icon: %s", got)
		}
		scope := eval[string](ph, `navigator.serviceWorker.ready.then(r => new URL(r.scope).pathname)`)
		if scope != "/village" {
			t.Errorf("service worker scope %q", scope)
		}
		ph.fitsPhone("online")
	}) {
		return
	}
	if !sc.step("without signal: three errands and two hand-overs wait", func(t *testing.T) {
		ph.offline(net, true)
		ph.open("/village/new")
		ph.sees("#errand-form", "办理事项")
		ph.set("#intake-matter", "GT001")
		ph.run("materials show", chromedp.Evaluate[chromedp.Void](`document.getElementById("intake-matter").dispatchEvent(new Event("change"))`))
		ph.sees(`#matter-materials .mats-of[data-matter="GT001"]`, "需要准备的材料", "原件")
		for i := 0; i < 3; i++ {
			fileErrand(people[i], fmt.Sprintf("离线登记第 %d 件", i+1))
		}
		ph.waitOutbox("待上传", "待上传", "待上传")
		ph.fitsPhone("offline-errands")
		ph.open("/village/custody")
		ph.sees("#synced", "没有网络")
		for _, id := range []int64{caseA, caseB} {
			sel := fmt.Sprintf("#move-%d-ID_CARD", id)
			ph.click(sel + " summary")
			ph.set(sel+" select[name=to]", "o.cun")
			ph.fill(sel+" input[name=note]", "入户收取")
			before := len(ph.outboxStates())
			ph.click(sel + " button[type=submit]")
			ph.sees("#village-note", "已保存在本机")
			for n := 0; len(ph.outboxStates()) == before && n < 200; n++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
		ph.waitOutbox("待上传", "待上传", "待上传", "待上传", "待上传")
		ph.fitsPhone("offline-custody")
		if n := errands(t); n != 2 {
			t.Fatalf("%d errands in the database while offline, want the 2 from before", n)
		}
	}) {
		return
	}
	if !sc.step("app closed and opened again without signal: still there", func(t *testing.T) {
		ph = ph.reopen(sc.t, net, browser)
		sc.with(ph)
		ph.open("/village")
		ph.sees("#synced", "没有网络")
		ph.sees("#open-errands .n", "2")
		ph.click("#open-errands a")
		ph.sees("#village-note", "案件详情需要有信号")
		ph.waitOutbox("待上传", "待上传", "待上传", "待上传", "待上传")
		ph.sees("#outbox", "新建代办", "原件移交")
		ph.fitsPhone("offline-reloaded")
	}) {
		return
	}
	if !sc.step("signal back: once each, and a conflict to deal with", func(t *testing.T) {
		// Meanwhile the township agent took case B's ID card from the
		// applicant: the agent's hand-over of it no longer holds.
		town := env.Token(t, "o.town")
		env.Do(t, town, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", caseB), map[string]any{"material": "ID_CARD", "from": "applicant", "to": "o.town", "count": 1}, nil).Must(t, http.StatusCreated)
		ph.offline(net, false)
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理")
		ph.sees("#outbox .ob-problem", "当前由 工作人员 o.town 持有", "请打开案件核对")
		ph.fitsPhone("online-again")
		if n := errands(t); n != 5 {
			t.Errorf("%d errands in the database, want 2 + 3", n)
		}
		if n := moves(t, caseA); n != 1 {
			t.Errorf("case A has %d hand-overs, want 1", n)
		}
		if n := moves(t, caseB); n != 1 {
			t.Errorf("case B has %d hand-overs, want only the township's", n)
		}
		// Sending again changes nothing; the applicant's details are gone
		// from the phone with the answer.
		ph.open("/village")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理")
		if n := errands(t); n != 5 {
			t.Errorf("%d errands after a reload, want 5", n)
		}
		kept := eval[int](ph, `new Promise(ok => { const r = indexedDB.open("daiban-village"); r.onsuccess = () => { const q = r.result.transaction("outbox").objectStore("outbox").getAll(); q.onsuccess = () => ok(q.result.filter(i => i.status === "sent" && (i.body || i.details)).length); }; })`)
		if kept != 0 {
			t.Errorf("%d uploaded items still keep the applicant's details", kept)
		}
	}) {
		return
	}
	if !sc.step("acknowledgement lost: still once", func(t *testing.T) {
		net.set(func(l *link) { l.loseAcks = true })
		ph.open("/village/new")
		fileErrand(people[3], "回执丢失的一件")
		deadline := time.Now().Add(15 * time.Second)
		for net.lost() == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if net.lost() == 0 {
			t.Fatal("the errand never reached the service")
		}
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "待上传")
		if n := errands(t); n != 6 {
			t.Fatalf("%d errands after the lost answer, want 6 (committed once)", n)
		}
		net.set(func(l *link) { l.loseAcks = false })
		ph.open("/village")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传")
		if n := errands(t); n != 6 {
			t.Errorf("%d errands after the resend, want still 6", n)
		}
		ph.sees("#open-errands .n", "6")
		ph.shot("ack-lost-resent")
	}) {
		return
	}
	if !sc.step("session ended: kept until the sign-in", func(t *testing.T) {
		if _, err := env.Pool.Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE user_id = (SELECT id FROM users WHERE username = 'o.cun')`); err != nil {
			t.Fatal(err)
		}
		ph.open("/village/new") // the page as kept: the network answers with the sign-in page
		if loc := ph.location(); !strings.HasPrefix(loc, "/login") {
			t.Fatalf("with the session ended, /village/new opens %s", loc)
		}
		ph.offline(net, true)
		ph.open("/village/new")
		fileErrand(people[4], "会话过期后登记")
		ph.offline(net, false)
		ph.run("send", chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new Event("online"))`))
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "需处理")
		ph.sees("#outbox .ob-item:last-child", "登录已过期", "重新登录")
		ph.fitsPhone("session-ended")
		ph.follow("#outbox .ob-item:last-child a.button")
		ph.sees("#login-outbox", "本机还有 2 项", "登录后会自动上传")
		ph.shot("sign-in-again")
		ph.fill("#login-username", "o.cun")
		ph.fill("#login-password", apptest.Password)
		ph.submit("#login-submit")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "已上传")
		if n := errands(t); n != 7 {
			t.Errorf("%d errands after signing in again, want 7", n)
		}
	}) {
		return
	}
	if !sc.step("refused errand corrected and sent again", func(t *testing.T) {
		// The first villager already has an open errand for this matter:
		// the service refuses a second without a reason.
		ph.open("/village/new")
		fileErrand(people[0], "再次登记")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "已上传", "需处理")
		ph.sees("#outbox .ob-item:last-child", "在办案件", "修改后重新提交")
		ph.fitsPhone("duplicate-refused")
		ph.follow("#outbox .ob-item:last-child a.ob-redo")
		ph.sees("#village-note", "请按提示改正后重新提交", "在办案件")
		if got := eval[string](ph, `document.getElementById("intake-name").value`); got != people[0]["name"] {
			t.Fatalf("the form comes back with name %q", got)
		}
		ph.fill("#intake-duplicate-reason", "村民要为另一处门店再办一份")
		ph.click("#errand-submit")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "已上传", "已上传")
		if n := errands(t); n != 8 {
			t.Errorf("%d errands, want 8: the refused one once, with its reason", n)
		}
		// A matter the kept form still offers but the catalog no longer
		// has: refused with the service's words, removed by the agent.
		ph.open("/village/new")
		ph.run("a withdrawn matter", chromedp.Evaluate[chromedp.Void](`document.getElementById("intake-matter").add(new Option("已撤销的事项", "WD001"))`))
		ph.set("#intake-matter", "WD001")
		ph.fill("#intake-name", people[1]["name"])
		ph.fill("#intake-id-number", people[1]["id_number"])
		ph.fill("#intake-phone", people[1]["phone"])
		ph.click("#errand-submit")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "已上传", "已上传", "需处理")
		ph.sees("#outbox .ob-item:last-child", "没有找到事项“WD001”", "修改后重新提交", "删除此项")
		ph.click("#outbox .ob-item:last-child .ob-delete")
		ph.click("#outbox .ob-item:last-child .ob-delete")
		ph.waitOutbox("已上传", "已上传", "已上传", "已上传", "需处理", "已上传", "已上传", "已上传")
		if n := errands(t); n != 8 {
			t.Errorf("%d errands after the refused matter, want 8", n)
		}
	}) {
		return
	}
	if !sc.step("signing out keeps what is unsent", func(t *testing.T) {
		ph.open("/village")
		ph.click(`form[action="/logout"] button`)
		ph.sees("#signout-warn", "还有 1 项没有上传")
		ph.shot("signout-warning")
		ph.submit("#signout-anyway")
		if loc := ph.location(); loc != "/login" {
			t.Fatalf("signed out to %s", loc)
		}
		left := eval[[]string](ph, `new Promise(ok => { const r = indexedDB.open("daiban-village"); r.onsuccess = () => { const q = r.result.transaction("outbox").objectStore("outbox").getAll(); q.onsuccess = () => ok(q.result.map(i => i.status)); }; })`)
		if fmt.Sprint(left) != "[problem]" {
			t.Errorf("after signing out the phone keeps %v, want only the unsent item", left)
		}
		pages := eval[bool](ph, `caches.has("daiban-village-pages")`)
		if pages {
			t.Error("the kept pages (the agent's errands) stay on the phone after signing out")
		}
		if strings.Contains(ph.text("body"), people[0]["name"]) {
			t.Error("the sign-in page shows an applicant's name")
		}
	}) {
		return
	}
	sc.step("outbox dealt with: signing out clears the phone", func(t *testing.T) {
		ph.login("o.cun")
		ph.waitOutbox("需处理")
		ph.click("#outbox .ob-delete")
		ph.sees("#outbox .ob-delete", "确认删除")
		ph.click("#outbox .ob-delete")
		ph.waitOutbox()
		if st := ph.submit(`form[action="/logout"] button`); st != http.StatusOK {
			t.Fatalf("signing out answered %d", st)
		}
		left := eval[[]any](ph, `Promise.all([indexedDB.databases().then(ds => ds.map(d => d.name).join(",")), caches.has("daiban-village-pages")])`)
		if fmt.Sprint(left) != "[ false]" {
			t.Errorf("after signing out with nothing unsent the phone keeps: databases %q, kept pages %v", left[0], left[1])
		}
	})
}
