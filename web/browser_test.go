package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBrowserDelegatedCase follows one delegated case through the pages,
// as the people at the counter see it: the township agent signs in,
// receives the applicant (a wrong ID number is caught on the form),
// prints the one-time notice, reviews the materials, and the agreement is
// signed by drawing — the applicant with a finger on the counter tablet,
// the agent with the mouse; then progress, forwarding to the province,
// its reply, results, the handover checked item by item and signed on the
// tablet, and the rating. The supervisor then sees the case in the
// dashboard and verifies the ledger.
//
// The applicant is 陈𪚥, whose given name is outside the Basic
// Multilingual Plane (U+2A6A5, CJK Extension B): typed into the form, it
// must come back character for character on the case page and the desk,
// masked as one character on the tablet and /track, and printed in the
// sealed agreement and receipt.
func TestBrowserDelegatedCase(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "b.town", "township_agent", "370323001")
	env.User(t, "b.super", "supervisor", "370323001")
	shots := artifacts(t)
	person := apptest.Person(t, 8)
	if person["name"] != "陈\U0002A6A5" {
		t.Fatalf("demo person 8 is %q, this test wants 陈𪚥 (Ext B)", person["name"])
	}
	agent := newTab(t, browser, env, "agent", desktop, shots)
	pad := newTab(t, browser, env, "tablet", tablet, shots)
	sc := newScenario(t, agent, pad)
	var id, number, link, due, tracking string

	if !sc.step("sign in from the desk", func(t *testing.T) {
		// A signed-out browser asking for the desk is sent to sign in, and
		// comes back to the desk after.
		agent.open("/desk")
		if loc := agent.location(); loc != "/login?next=%2Fdesk" {
			t.Fatalf("signed-out /desk went to %s", loc)
		}
		agent.shot("login")
		if loc := agent.login("b.town"); loc != "/desk" {
			t.Fatalf("after sign-in: %s", loc)
		}
		agent.sees("main h2", "工作台")
		agent.sees("#count-new", "0", "新接待")
		agent.shot("desk-empty")
	}) {
		return
	}
	if !sc.step("intake refused with a wrong ID number", func(t *testing.T) {
		// Search the catalog, choose the matter, enter the applicant.
		agent.follow(`nav a[href="/intake"]`)
		agent.fill("#matter-q", "食品经营")
		agent.submit(`button[form="matter-search"]`)
		agent.sees("#matters", "食品经营许可（新办）")
		if strings.Contains(agent.text("#matters"), "残疾人证") {
			t.Fatal("the search for 食品经营 still lists 残疾人证办理")
		}
		agent.click(`input[name=matter][value=SP001]`)
		wrongID := person["id_number"][:17] + map[bool]string{true: "1", false: "2"}[person["id_number"][17] != '1']
		agent.fill("#intake-name", person["name"])
		agent.fill("#intake-id-number", wrongID)
		agent.fill("#intake-phone", person["phone"])
		agent.set("#intake-region", "370323001002")
		agent.fill("#intake-summary", "开小餐馆，想办食品经营许可")
		if st := agent.submit("#intake-submit"); st != http.StatusUnprocessableEntity {
			t.Fatalf("intake with a wrong ID number answered %d", st)
		}
		agent.sees(".field.invalid", "身份证号码有误", "校验位")
		if v := eval[string](agent, `document.querySelector("input[name=matter]:checked").value`); v != "SP001" {
			t.Fatalf("the chosen matter was lost: %q", v)
		}
		agent.shot("intake-wrong-id")
	}) {
		return
	}
	if !sc.step("intake registered", func(t *testing.T) {
		agent.fill("#intake-id-number", person["id_number"])
		agent.submit("#intake-submit")
		agent.sees("#flash", "已登记")
		agent.sees("#case-state", "接待咨询")
		if got := agent.text("#case-applicant"); got != person["name"]+"（个人）" {
			t.Errorf("the case page shows the applicant as %q (%+q)", got, got)
		}
		id = agent.caseIDOf()
		number = agent.text("#case-number")
		agent.shot("case-new")
	}) {
		return
	}
	if !sc.step("desk finds the case by phone", func(t *testing.T) {
		// It counts it as new.
		agent.open("/desk")
		agent.sees("#count-new", "1")
		agent.fill("#q", person["phone"])
		agent.submit(`form[role=search] button`)
		agent.sees("#results", "1 件", number, person["name"])
		if strings.Contains(agent.text("#results ul.cases"), person["phone"]) {
			t.Error("the search results show the full phone number")
		}
		agent.shot("desk-search")
		agent.open("/cases/" + id)
	}) {
		return
	}
	if !sc.step("one-time notice issued", func(t *testing.T) {
		// Issued, sealed, a PDF to print.
		agent.submit("#issue-notice")
		agent.sees("#flash", "一次告知单已出具")
		if got := agent.fetchStatus(eval[string](agent, `document.querySelector("#flash a").href`)); got != "200 application/pdf" {
			t.Fatalf("the notice link answers %s", got)
		}
		agent.sees("#documents", "一次告知单")
	}) {
		return
	}
	if !sc.step("supplement refused without a note", func(t *testing.T) {
		// Said next to the note.
		agent.click("#act-review summary")
		agent.click(`#act-review input[name=result][value=supplement]`)
		if st := agent.submit("#submit-review"); st != http.StatusUnprocessableEntity {
			t.Fatalf("a supplement without a note answered %d", st)
		}
		agent.sees("#act-review .field.invalid", "请填写说明")
		agent.shot("review-needs-note")
	}) {
		return
	}
	if !sc.step("review accepted", func(t *testing.T) {
		agent.tickAll("#act-review")
		eval[int](agent, `document.querySelectorAll("#act-review input[type=number]").forEach(i => i.value = "2"), 0`)
		agent.click(`#act-review input[name=result][value=accept]`)
		agent.submit("#submit-review")
		agent.sees("#case-state", "待签协议")
	}) {
		return
	}
	if !sc.step("agent keeps the original ID card", func(t *testing.T) {
		// A hand-over from the applicant.
		agent.click("#mat-ID_CARD summary")
		agent.submit("#mat-ID_CARD button[type=submit]")
		agent.sees("#flash", "已登记移交")
		agent.sees("#mat-ID_CARD .holder", "测试b.town")
	}) {
		return
	}
	if !sc.step("applicant signs the agreement on the tablet", func(t *testing.T) {
		agent.follow("#go-agreement")
		link = agent.signingLink(t, "#draft-agreement")
		agent.shot("agreement-link")

		pad.open(link)
		pad.sees("#document h2", "代办服务委托协议书")
		pad.sees("#document", number)
		pad.pagesShown()
		if strings.Contains(pad.text("body"), person["id_number"]) {
			t.Fatal("the signing page shows the full ID number")
		}
		pad.drawByFinger("#pad")
		if n := pad.inked("#pad"); n < 200 {
			t.Fatalf("the finger drew %d pixels", n)
		}
		pad.shot("tablet-signed")
		pad.fill("#id_last4", "0000")
		pad.click("#confirm")
		pad.sees("#error", "身份证号码后四位不正确")
		pad.fill("#id_last4", person["id_number"][14:])
		pad.click("#confirm")
		pad.waitVisible("#done")
		pad.sees("#done", "签名已保存", "申请人 陈*")
		pad.shot("tablet-done")
	}) {
		return
	}
	if !sc.step("agent signs and the agreement is sealed", func(t *testing.T) {
		agent.open("/cases/" + id + "/agreement")
		agent.sees("#sig-applicant", "申请人已签名")
		agent.sees("#sig-agent", "代办员待签名")
		agent.drawByMouse("#pad")
		if n := agent.inked("#pad"); n < 200 {
			t.Fatalf("the mouse drew %d pixels", n)
		}
		agent.shot("agent-signs")
		agent.click("#confirm")
		agent.waitVisible("#agreement-sealed")
		agent.sees("#agreement-sealed", "已签订并盖章生效")
		agent.shot("agreement-sealed")
		agent.open("/cases/" + id)
		agent.sees("#case-state", "已委托")
		due = agent.text("#case-due")
		agent.sees("#documents", "代办服务委托协议书")
		if text := agent.documentText("代办服务委托协议书"); !strings.Contains(text, person["name"]) {
			t.Errorf("the sealed agreement does not print %s: %s", person["name"], text)
		}
	}) {
		return
	}
	if !sc.step("progress", func(t *testing.T) {
		agent.click("#act-progress summary")
		agent.fill("#progress-step", "报送县市场监管局")
		agent.fill("#progress-note", "材料已报送县市场监管局审查")
		agent.submit("#submit-progress")
		agent.sees("#case-state", "办理中")
		agent.sees("#timeline", "材料已报送县市场监管局审查")
	}) {
		return
	}
	if !sc.step("forwarded to the province", func(t *testing.T) {
		replyDue := calendar.Date(time.Now()).AddDate(0, 0, 14).Format("2006-01-02")
		agent.click("#act-escalate summary")
		agent.set("#escalate-level", "province")
		agent.fill("#escalate-authority", "山东省市场监督管理局")
		agent.set("#escalate-reply-due", replyDue)
		agent.submit("#submit-escalate")
		agent.sees("#case-state", "已转报上级")
		agent.sees("#escalation", "山东省市场监督管理局", replyDue)
		agent.shot("escalated")
		agent.open("/desk")
		agent.sees("#count-escalated", "1")
	}) {
		return
	}
	if !sc.step("province replies", func(t *testing.T) {
		agent.open("/cases/" + id)
		agent.click("#act-reply summary")
		agent.click(`#act-reply input[name=outcome][value=approved]`)
		agent.fill("#reply-note", "省局已审核通过")
		agent.submit("#submit-reply")
		agent.sees("#case-state", "办理中")
	}) {
		return
	}
	if !sc.step("results", func(t *testing.T) {
		agent.click("#act-results summary")
		agent.set(`select[name="kind.0"]`, "licence")
		agent.fill(`input[name="name.0"]`, "食品经营许可证")
		agent.fill(`input[name="number.0"]`, "JY13703230000001")
		agent.submit("#submit-results")
		agent.sees("#case-state", "待交付")
		agent.sees("#items", "食品经营许可证", "申请人居民身份证（原件）", "待核验")
		if d := agent.printed("case-printed", "header .nav", "#actions", "#case-number"); d[0] != "none" || d[1] != "none" || d[2] == "none" {
			t.Errorf("printed case page: nav %s, actions %s, number %s", d[0], d[1], d[2])
		}
		agent.open("/desk")
		agent.sees("#count-ready", "1")
		agent.shot("desk-ready")
	}) {
		return
	}
	if !sc.step("handover refused with unchecked items", func(t *testing.T) {
		// Every item must be checked, else said so.
		agent.open("/cases/" + id)
		agent.follow("#go-handover")
		agent.click(`#handover-form input[name=verified]`)
		if st := agent.submit("#verify-items"); st != http.StatusUnprocessableEntity {
			t.Fatalf("a handover with unchecked items answered %d", st)
		}
		agent.sees(".ferr", "以下项目尚未核验")
		agent.shot("handover-unchecked")
	}) {
		return
	}
	if !sc.step("handover verified", func(t *testing.T) {
		agent.tickAll("#handover-form")
		link = agent.signingLink(t, "#verify-items")
	}) {
		return
	}
	if !sc.step("applicant signs the receipt on the tablet", func(t *testing.T) {
		pad.open(link)
		pad.sees("#document", "签收单", number)
		pad.pagesShown()
		pad.drawByFinger("#pad")
		pad.fill("#id_last4", strings.ToLower(person["id_number"][14:]))
		pad.click("#confirm")
		pad.waitVisible("#done")
		pad.sees("#done", "文书已盖章生效", "申请人 陈*")
		if strings.Contains(pad.text("#done"), person["name"]) {
			t.Error("the done page shows the name unmasked")
		}
		pad.shot("tablet-receipt-done")
	}) {
		return
	}
	if !sc.step("receipt sealed and verified", func(t *testing.T) {
		agent.open("/cases/" + id + "/handover")
		agent.sees("#receipt-sealed", "申请人已签收")
		if got := agent.fetchStatus(eval[string](agent, `document.getElementById("receipt-pdf").href`)); got != "200 application/pdf" {
			t.Fatalf("the receipt link answers %s", got)
		}
		agent.shot("handed-over")
		if text := agent.pdfText(eval[string](agent, `document.getElementById("receipt-pdf").getAttribute("href")`)); !strings.Contains(text, person["name"]) {
			t.Errorf("the sealed receipt does not print %s: %s", person["name"], text)
		}
		verify := eval[string](agent, `document.querySelector('a[href^="/verify/"]').getAttribute("href")`)
		env.App.Ledger.Notify()
		pad.open(verify)
		pad.sees("#verify-ok", "已加盖电子签章")
		pad.sees("#verify-title", "签收单")
		if strings.Contains(pad.text("body"), person["name"]) {
			t.Error("the verification page shows the applicant's name")
		}
		pad.shot("verify")
	}) {
		return
	}
	if !sc.step("rating", func(t *testing.T) {
		// 1 to 5 with its words.
		agent.open("/cases/" + id)
		agent.sees("#case-state", "已办结", "已交付签收")
		agent.click("#act-evaluate summary")
		agent.sees("#act-evaluate", "非常不满意", "非常满意")
		agent.click(`#act-evaluate input[name=rating][value="5"]`)
		agent.fill("#evaluate-comment", "全程帮办，省心")
		agent.submit("#submit-evaluate")
		agent.sees("#rating-text", "5 分", "非常满意")
		agent.shot("closed-rated")
		tracking = agent.text("#case dd code")
	}) {
		return
	}
	if !sc.step("tracking page shows nothing personal", func(t *testing.T) {
		// The applicant's tracking page: the state only.
		pad.open("/track/" + tracking)
		pad.sees("#track-state", "已办结")
		api := eval[string](pad, fmt.Sprintf(`fetch("/api/v1/track/%s").then(r => r.json()).then(j => j.applicant)`, tracking))
		if api != "陈*" {
			t.Errorf("/api/v1/track gives the applicant as %q, want 陈*", api)
		}
		body := pad.text("body")
		for _, secret := range []string{person["id_number"], person["phone"], person["name"]} {
			if strings.Contains(body, secret) {
				t.Errorf("the tracking page shows %q", secret)
			}
		}
		pad.shot("track")
	}) {
		return
	}

	// The supervisor: the township's figures, the ledger verified.
	sup := newTab(t, browser, env, "supervisor", desktop, shots)
	sc.with(sup)
	if !sc.step("supervisor dashboard", func(t *testing.T) {
		if loc := sup.login("b.super"); loc != "/supervision" {
			t.Fatalf("supervisor lands on %s", loc)
		}
		row := sup.text("#table tbody tr:first-child")
		for _, want := range []string{"历山街道", "100%", "5.0"} {
			if !strings.Contains(row, want) {
				t.Errorf("dashboard row %q lacks %q", row, want)
			}
		}
		if n := eval[int](sup, `document.querySelectorAll("figure.chart svg").length`); n != 4 {
			t.Errorf("%d charts, want 4", n)
		}
		sup.sees("#count-ontime", "100%")
	}) {
		return
	}
	if !sc.step("supervisor verifies the ledger", func(t *testing.T) {
		env.App.Ledger.Notify()
		time.Sleep(500 * time.Millisecond) // let the integrator take the newest entries in
		sup.submit("#verify-ledger")
		sup.sees("#flash", "台账校验通过")
		sup.shot("dashboard")
	}) {
		return
	}
	if !sc.step("supervisor sees the ID number masked", func(t *testing.T) {
		sup.open("/cases/" + id)
		sup.sees("#case-state", "已办结")
		if strings.Contains(sup.text("#case"), person["id_number"]) {
			t.Error("the supervisor sees the full ID number")
		}
	}) {
		return
	}
	t.Logf("case %s handed over, due %s", number, due)
}

// TestBrowserVillageAgent is the village agent's phone (360×740): a new
// errand whose form is sent three times over a bad connection makes one
// errand; originals change hands; the township agent, at the desk, finds
// the original with them and accepts the materials; progress is added from
// the phone once the agreement is signed. Every page the village agent
// sees fits the phone's width.
func TestBrowserVillageAgent(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "v.cun", "village_agent", "370323001001")
	env.User(t, "v.town", "township_agent", "370323001")
	shots := artifacts(t)
	person := apptest.Person(t, 4)
	ph := newTab(t, browser, env, "phone", phone, shots)
	sc := newScenario(t, ph)
	var id string
	var caseID int64

	if !sc.step("sign in on the phone", func(t *testing.T) {
		if loc := ph.login("v.cun"); loc != "/village" {
			t.Fatalf("village agent lands on %s", loc)
		}
		ph.sees("#open-errands", "办理中", "0")
		ph.noSideScroll()
		ph.shot("village-empty")
	}) {
		return
	}
	if !sc.step("errand sent three times opened once", func(t *testing.T) {
		ph.follow("#new-errand")
		ph.set("#intake-matter", "GT001")
		ph.fill("#intake-name", person["name"])
		ph.fill("#intake-id-number", person["id_number"])
		ph.fill("#intake-phone", person["phone"])
		ph.fill("#intake-summary", "村民想开小卖部")
		ph.noSideScroll()
		ph.shot("errand-form")
		// The connection drops: the same form (as a phone without the
		// village script posts it) goes out twice while the first is still
		// on its way (the browser retrying, the agent tapping again), then
		// once more, which is told it was already registered. (With the
		// script the errand goes through the outbox: TestBrowserVillageOffline.)
		statuses := eval[[]int](ph, `(() => { const f = document.getElementById("errand-form"); const body = new URLSearchParams(new FormData(f));
		return Promise.all([fetch(f.action, {method: "POST", body}), fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))})]).then(rs => rs.map(r => r.status)); })()`)
		if fmt.Sprint(statuses) != "[200 200]" {
			t.Fatalf("resent forms answered %v", statuses)
		}
		again := eval[string](ph, `(() => { const f = document.getElementById("errand-form");
		return fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))}).then(r => r.text()); })()`)
		if !strings.Contains(again, "没有重复登记") {
			t.Errorf("the third sending is not told it was registered already")
		}
		ph.open("/village")
		ph.follow("#open-errands a")
		ph.sees("#case-state", "接待咨询")
		id = ph.caseIDOf()
		ph.noSideScroll()
		ph.shot("errand-case")
		var n int
		if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM cases WHERE created_by = 'v.cun'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d errands opened, want 1", n)
		}
		ph.open("/village")
		ph.sees("#open-errands .n", "1")
	}) {
		return
	}
	if !sc.step("originals change hands", func(t *testing.T) {
		// The agent takes the ID card from the villager, then hands it to
		// the township agent; from then on it is not the agent's to move.
		ph.open("/cases/" + id + "#materials")
		ph.sees("#mat-ID_CARD .holder", "申请人")
		ph.click("#mat-ID_CARD summary")
		ph.set("#mat-ID_CARD select[name=to]", "v.cun")
		ph.fill("#mat-ID_CARD input[name=note]", "村委会收取")
		ph.submit("#mat-ID_CARD button[type=submit]")
		ph.sees("#flash", "已登记移交")
		ph.sees("#mat-ID_CARD .holder", "测试v.cun")
		ph.click("#mat-ID_CARD summary")
		ph.set("#mat-ID_CARD select[name=to]", "v.town")
		ph.submit("#mat-ID_CARD button[type=submit]")
		ph.sees("#mat-ID_CARD .holder", "测试v.town")
		ph.sees("#mat-ID_CARD .moves", "村委会收取")
		if n := eval[int](ph, `document.querySelectorAll("#mat-ID_CARD details").length`); n != 0 {
			t.Error("the village agent is offered to move an original it no longer holds")
		}
		ph.noSideScroll()
		ph.shot("custody")
	}) {
		return
	}
	town := newTab(t, browser, env, "township", desktop, shots)
	sc.with(town)
	if !sc.step("township agent accepts the errand", func(t *testing.T) {
		// At the desk: the errand is new, the ID card in the agent's hands.
		town.login("v.town")
		town.open("/desk?all=1")
		town.sees("#count-new", "1")
		town.sees("#q-new", person["name"])
		town.shot("desk")
		town.open("/cases/" + id)
		town.sees("#case-applicant", person["name"])
		town.sees("#mat-ID_CARD .holder", "测试v.town")
		town.click("#act-review summary")
		town.tickAll("#act-review")
		eval[int](town, `document.querySelectorAll("#act-review input[type=number]").forEach(i => i.value = "1"), 0`)
		town.click(`#act-review input[name=result][value=accept]`)
		town.submit("#submit-review")
		town.sees("#case-state", "待签协议")
		town.shot("accepted")
	}) {
		return
	}
	if !sc.step("township has the agreement signed", func(t *testing.T) {
		// The signing itself is walked in TestBrowserDelegatedCase.
		fmt.Sscan(id, &caseID)
		err := pgx.BeginFunc(context.Background(), env.Pool, func(tx pgx.Tx) error {
			_, err := env.App.Cases.SignedAgreementTx(context.Background(), tx, cases.Actor{Username: "v.town"}, caseID, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}) {
		return
	}
	if !sc.step("progress from the phone", func(t *testing.T) {
		ph.open("/cases/" + id)
		ph.sees("#case-state", "已委托")
		ph.click("#act-progress summary")
		ph.fill("#progress-note", "已把村民的材料送到街道便民服务中心")
		ph.submit("#submit-progress")
		ph.sees("#case-state", "办理中")
		ph.sees("#timeline", "已把村民的材料送到街道便民服务中心")
		ph.noSideScroll()
		ph.shot("progress")
		ph.open("/village")
		ph.sees("#open-errands", number(t, env, caseID))
		ph.noSideScroll()
		ph.shot("village-list")
	}) {
		return
	}

	// The villager follows the errand on the phone with the tracking code.
	villager := newTab(t, browser, env, "villager", phone, shots)
	sc.with(villager)
	sc.step("villager tracks the errand", func(t *testing.T) {
		var code string
		if err := env.Pool.QueryRow(context.Background(), "SELECT tracking_code FROM cases WHERE id = $1", caseID).Scan(&code); err != nil {
			t.Fatal(err)
		}
		villager.open("/track")
		villager.fill("#track-code", strings.ToLower(code))
		villager.submit("form[action='/track'] button")
		villager.sees("#track-state", "办理中")
		villager.sees(".timeline", "已把村民的材料送到街道便民服务中心")
		if strings.Contains(villager.text("body"), person["name"]) {
			t.Error("the tracking page shows the applicant's name")
		}
		villager.noSideScroll()
		villager.shot("track")
	})
}

// TestBrowserSupervisorDashboard: a case past its due date shows in the
// supervisor's dashboard — the count, the chart, the overdue list — and
// the 督办 note given there reaches the case. The monthly report form
// then refuses a month still to come, an empty one and a malformed one on
// the form itself, in Chinese, and a good month brings the PDF.
func TestBrowserSupervisorDashboard(t *testing.T) {
	browser := startBrowser(t)
	clock := apptest.NewClock(time.Now().AddDate(0, 0, -30))
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now})
	env.User(t, "s.town", "township_agent", "370323001")
	env.User(t, "s.lucun", "township_agent", "370323101")
	env.User(t, "s.super", "supervisor", "370323")
	shots := artifacts(t)
	late := env.Delegate(t, "s.town", "370323001001", "GT001") // 1 working day, signed 30 days ago
	env.CreateCase(t, env.Token(t, "s.lucun"), "370323101", "SP001")
	clock.Set(time.Now())
	num := number(t, env, late)

	sup := newTab(t, browser, env, "supervisor", desktop, shots)
	sc := newScenario(t, sup)
	if !sc.step("dashboard shows the overdue case", func(t *testing.T) {
		sup.login("s.super")
		sup.sees("main h2", "督查", "沂源县")
		sup.sees("#count-overdue", "1", "超期")
		sup.sees("#count-open", "2")
		if w := eval[float64](sup, `Math.max(...[...document.querySelectorAll("#chart-open rect.bar-late")].map(r => +r.getAttribute("width")))`); w <= 0 {
			t.Error("the chart draws no overdue bar")
		}
		sup.sees("#table", "历山街道", "鲁村镇")
		sup.sees("#overdue", num, "超期")
		sup.shot("dashboard-overdue")
	}) {
		return
	}
	if !sc.step("supervise from the dashboard", func(t *testing.T) {
		sup.fill("#sv-"+fmt.Sprint(late), "请于 3 个工作日内办结，并说明超期原因")
		sup.submit(fmt.Sprintf(`form[action="/cases/%d/act/supervise"] button`, late))
		sup.sees("#flash", "督办")
		if loc := sup.location(); loc != "/supervision" {
			t.Errorf("after 督办: %s", loc)
		}
		sup.shot("supervised")
	}) {
		return
	}
	if !sc.step("supervision note reaches the case", func(t *testing.T) {
		sup.open(fmt.Sprintf("/cases/%d", late))
		sup.sees("#timeline", "督办", "请于 3 个工作日内办结")
		if n := eval[int](sup, `document.querySelectorAll("#actions details").length`); n != 1 {
			t.Errorf("the supervisor is offered %d actions, want only 督办", n)
		}
		sup.shot("case-supervised")
	}) {
		return
	}
	reportForm(sc, sup)
}

// reportForm walks the monthly report form under 督查 with bad months and
// a good one.
func reportForm(sc *scenario, sup *tab) {
	refused := func(t *testing.T, month string, want ...string) {
		t.Helper()
		sup.sees("#report-summary", append([]string{"未生成报告：1 处需要修改"}, want...)...)
		sup.sees("#month-error", want...)
		if body := sup.text("body"); strings.Contains(body, `{"error"`) || strings.Contains(body, `"code"`) {
			t.Errorf("the refused report form shows JSON: %s", body)
		}
		if f := eval[string](sup, `document.activeElement.id`); f != "report-summary" {
			t.Errorf("the focus is on %q, not on the summary", f)
		}
		if top := eval[[]float64](sup, `[document.getElementById("report-summary").getBoundingClientRect().top, window.innerHeight]`); top[0] < 0 || top[0] > top[1]-40 {
			t.Errorf("the summary is at %.0f px on a %.0f px screen: out of sight", top[0], top[1])
		}
		if v := eval[string](sup, `document.getElementById("report-month").value`); v != month {
			t.Errorf("the month field holds %q, want %q kept", v, month)
		}
		if h := eval[string](sup, `document.querySelector("#report-summary a").getAttribute("href")`); h != "#report-month" {
			t.Errorf("the summary links to %q", h)
		}
	}
	if !sc.step("report form refuses a month still to come", func(t *testing.T) {
		sup.open("/supervision")
		sup.set("#report-month", "2099-01")
		if st := sup.submit(`#report-form button[type=submit]`); st != http.StatusUnprocessableEntity {
			t.Errorf("a month to come answered %d", st)
		}
		refused(t, "2099-01", "月份 2099-01 尚未到来，不能生成报告")
		sup.shot("report-future")
	}) {
		return
	}
	if !sc.step("report form refuses an empty month", func(t *testing.T) {
		sup.set("#report-month", "")
		sup.submit(`#report-form button[type=submit]`)
		refused(t, "", "请选择月份")
		sup.shot("report-empty")
	}) {
		return
	}
	if !sc.step("report form refuses a malformed month", func(t *testing.T) {
		// A month the picker cannot make: an old bookmark, an edited link.
		region := eval[string](sup, `document.querySelector("#report-form input[name=region]").value`)
		sup.open("/supervision/report?region=" + region + "&month=2026-13")
		sup.sees("#report-summary", "月份“2026-13”格式不对，应为年-月")
		sup.sees("#report-form", "月份“2026-13”格式不对")
		sup.shot("report-malformed")
	}) {
		return
	}
	sc.step("a good month brings the PDF", func(t *testing.T) {
		month := time.Now().AddDate(0, -1, 0).Format("2006-01")
		sup.set("#report-month", month)
		got := eval[string](sup, `(() => { const f = document.getElementById("report-form");
		  return fetch(f.action + "?" + new URLSearchParams(new FormData(f))).then(r => [r.status, r.headers.get("content-type"), r.redirected, new URL(r.url).pathname].join(" ")); })()`)
		if got != "200 application/pdf true /api/v1/reports/monthly.pdf" {
			t.Errorf("the form with %s answers %s", month, got)
		}
	})
}

// number is a case's number.
func number(t *testing.T, env *apptest.Env, id int64) string {
	t.Helper()
	var n string
	if err := env.Pool.QueryRow(context.Background(), "SELECT number FROM cases WHERE id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
