package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// smsBox stands in for the text-message gateway: it keeps every message.
type smsBox struct {
	mu   sync.Mutex
	last map[string]string
}

func (b *smsBox) SendCode(_ context.Context, phone, _, text string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		b.last = map[string]string{}
	}
	b.last[phone] = text
	return nil
}

var smsCode = regexp.MustCompile(`确认码 ([0-9]{6})`)

func (b *smsBox) code(t *testing.T, phone string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	m := smsCode.FindStringSubmatch(b.last[phone])
	if m == nil {
		t.Fatalf("no code sent to %s: %q", phone, b.last[phone])
	}
	return m[1]
}

// TestBrowserApplicantOnThePhone walks the applicant's side of 一次办好 on
// a 360 px phone: the 办事指南 of 个体工商户设立登记 and of the 开办餐馆
// 一件事; the township's administrator opens slots (the 中秋 holiday
// closed); the applicant books a slot and confirms it with the code from
// the text message; at the counter the agent finds the booking on the desk
// and registers the case from it without retyping; the licence goes by
// post and the applicant confirms receipt on the tracking page, signing
// the receipt with a finger.
func TestBrowserApplicantOnThePhone(t *testing.T) {
	browser := startBrowser(t)
	clock := apptest.NewClock(time.Date(2026, 9, 21, 8, 0, 0, 0, calendar.Shanghai)) // a Monday
	box := &smsBox{}
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now, CodeSender: box})
	env.User(t, "a.admin", "admin", "370323")
	env.User(t, "a.town", "township_agent", "370323001")
	shots := artifacts(t)
	ph := newTab(t, browser, env, "applicant", phone, shots)
	admin := newTab(t, browser, env, "admin", desktop, shots)
	counter := newTab(t, browser, env, "counter", desktop, shots)
	sc := newScenario(t, ph, admin, counter)
	const mobile = "13805331201"
	var code, tracking string
	var caseID int64

	if !sc.step("guides on the phone", func(t *testing.T) {
		ph.open("/guide")
		ph.sees("#guide-chains", "开办餐馆一件事")
		ph.fitsPhone("guides")
		ph.open("/guide/GT001")
		ph.sees("#guide", "个体工商户设立登记", "县行政审批服务局", "承诺时限", "申请人居民身份证", "未公布", "12345")
		ph.fitsPhone("guide-GT001")
		ph.open("/guide/YJS001")
		ph.sees("#guide", "开办餐馆一件事", "个体工商户设立登记", "食品经营许可（新办）", "新办纳税人首次申领发票", "共用材料")
		ph.fitsPhone("guide-YJS001")
		if st := ph.fetchStatus("/guide/YJS001.pdf"); st != "200 application/pdf" {
			t.Errorf("guide PDF: %s", st)
		}
	}) {
		return
	}
	if !sc.step("the administrator opens slots", func(t *testing.T) {
		admin.login("a.admin")
		admin.open("/appointments/slots")
		admin.set("#slots-region", "370323001")
		admin.set("#slots-from", "2026-09-21")
		admin.set("#slots-to", "2026-09-30")
		admin.set("#slots-am", "4")
		admin.set("#slots-pm", "2")
		admin.submit("#slots-submit")
		admin.sees("#slots-opened", "已开放 14 个时段", "2026-09-25") // 中秋 off
	}) {
		return
	}
	if !sc.step("book and confirm on the phone", func(t *testing.T) {
		ph.open("/guide/GT001")
		ph.follow("#guide-book")
		ph.set("#book-region", "370323001")
		ph.follow("#book-show")
		ph.sees("#book-slots", "9月21日 周一 上午", "余 4 个")
		ph.fitsPhone("book")
		ph.click("#book-slots input[value='2026-09-21/am']")
		ph.fill("#book-name", "张喆")
		ph.fill("#book-phone", mobile)
		ph.follow("#book-submit")
		ph.sees("#booking-status", "待确认")
		code = ph.text("#booking-code")
		ph.fill("#booking-otp", box.code(t, mobile))
		ph.follow("#booking-confirm-submit")
		ph.sees("#booking-status", "已确认")
		ph.fitsPhone("booking-confirmed")
	}) {
		return
	}
	if !sc.step("turned into a case at the counter", func(t *testing.T) {
		counter.login("a.town")
		counter.open("/desk")
		counter.sees("#appointments-today", code, "张喆", "138****1201")
		counter.follow("#appointments-today a.button")
		counter.sees("#intake-booking", code)
		if v := eval[[]string](counter, `["intake-name","intake-phone"].map(id => document.getElementById(id).value)`); v[0] != "张喆" || v[1] != mobile {
			t.Fatalf("the intake form is not filled from the booking: %v", v)
		}
		counter.fill("#intake-id-number", "37032319850312201X")
		counter.follow("#intake-submit")
		counter.sees("#case-state", "接待咨询")
		fmt.Sscan(counter.caseIDOf(), &caseID)
		tracking = eval[string](counter, `document.querySelector("a[href^='/track/']").getAttribute("href").slice(7)`)
		if st := env.Do(t, "", http.MethodGet, "/api/v1/appointments/"+code, nil, nil).Must(t, http.StatusOK).JSON["status"]; st != "arrived" {
			t.Errorf("booking after the case: %v", st)
		}
	}) {
		return
	}
	if !sc.step("results by post", func(t *testing.T) {
		tok := env.Token(t, "a.town")
		c := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", caseID), nil, nil).Must(t, http.StatusOK).JSON
		var mats []map[string]any
		for _, m := range c["materials"].([]any) {
			mm := m.(map[string]any)
			mats = append(mats, map[string]any{"code": mm["code"], "received": true, "original": mm["required_original"], "pages": 1})
		}
		env.Act(t, tok, caseID, env.Version(t, caseID), "review", map[string]any{"result": "accept", "materials": mats}).Must(t, http.StatusOK)
		ctx := context.Background()
		if err := pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
			_, err := env.App.Cases.SignedAgreementTx(ctx, tx, cases.Actor{Username: "a.town"}, caseID, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		env.Act(t, tok, caseID, env.Version(t, caseID), "progress", map[string]any{"note": "已报送"}).Must(t, http.StatusOK)
		env.Act(t, tok, caseID, env.Version(t, caseID), "results", map[string]any{"delivery": "post",
			"items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": "92370323MA3F4H6W4W"}}}).Must(t, http.StatusOK)
		counter.open(fmt.Sprintf("/cases/%d/handover", caseID))
		counter.tickAll("#handover-form")
		counter.fill("#receipt-carrier", "EMS")
		counter.fill("#receipt-waybill", "1180245678901")
		counter.fill("#receipt-address", "山东省淄博市沂源县历山街道振兴路88号")
		counter.follow("#verify-items")
		counter.sees("#posted", "已寄出", "1180245678901", "山东省淄博市****")
	}) {
		return
	}
	sc.step("delivery confirmed on the phone", func(t *testing.T) {
		ph.open("/track/" + tracking)
		ph.sees("#track-posted", "EMS", "1180245678901")
		ph.fitsPhone("track-posted")
		ph.fill("#delivery-otp", box.code(t, mobile))
		ph.follow("#delivery-submit")
		ph.sees("#document", "签收单")
		ph.drawByFinger("#pad")
		ph.fill("#id_last4", "201X")
		ph.click("#confirm")
		ph.waitVisible("#done")
		ph.sees("#done", "文书已盖章生效")
		ph.fitsPhone("receipt-signed")
		counter.open(fmt.Sprintf("/cases/%d", caseID))
		counter.sees("#case-state", "已办结", "已邮寄送达")
		counter.open(fmt.Sprintf("/cases/%d/handover", caseID))
		counter.sees("#receipt-sealed", "已确认邮寄送达")
		text := counter.pdfText(eval[string](counter, `document.getElementById("receipt-pdf").getAttribute("href")`))
		if !strings.Contains(strings.Join(strings.Fields(text), ""), "邮寄送达") {
			t.Errorf("the receipt does not say it went by post: %s", text)
		}
	})
}
