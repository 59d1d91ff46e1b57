package web_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// counterTablet is the smallest tablet the counters use: 1024×768,
// landscape, touch.
var counterTablet = screen{1024, 768, true}

// pagesShown waits for the document's page images and checks that each
// loaded, is sharp enough to zoom (at least 1200 px wide) and is shown
// wide: across the screen, or 900 px at least on a wider one; it returns
// how many pages there are.
func (b *tab) pagesShown() int {
	b.t.Helper()
	js := `(() => { const imgs = [...document.querySelectorAll("#pages img")];
	  if (imgs.length === 0 || imgs.some(i => !i.complete)) return [];
	  return imgs.map(i => [i.naturalWidth, i.getBoundingClientRect().width, window.innerWidth]); })()`
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := eval[[][]float64](b, js)
		if len(got) > 0 {
			for n, g := range got {
				if g[0] < 1200 || g[1] < math.Min(0.85*g[2]-40, 900) {
					b.shot("pages-small")
					b.t.Fatalf("%s: page %d is %.0f px (shown %.0f px on a %.0f px screen)", b.name, n+1, g[0], g[1], g[2])
				}
			}
			return len(got)
		}
		if time.Now().After(deadline) {
			b.shot("no-pages")
			b.t.Fatalf("%s: the document's pages did not load", b.name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// download is what fetching a link from the page brought.
type download struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Cache  string `json:"cache"`
	Body   string `json:"body"` // base64
}

func (b *tab) download(href string) download {
	b.t.Helper()
	return eval[download](b, fmt.Sprintf(`fetch(%q).then(r => r.arrayBuffer().then(buf => { const u = new Uint8Array(buf); let s = "";
	  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
	  return {status: r.status, type: r.headers.get("content-type") || "", cache: r.headers.get("cache-control") || "", body: btoa(s)}; }))`, href))
}

func pdfText(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "copy.pdf")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	if fonts, err := exec.Command("pdffonts", f).CombinedOutput(); err == nil {
		t.Logf("fonts of the PDF:\n%s", fonts)
	}
	return strings.Join(strings.Fields(string(out)), "")
}

// pdfText downloads a PDF link of the page (with the page's cookies) and
// returns its text, spaces removed.
func (b *tab) pdfText(href string) string {
	b.t.Helper()
	d := b.download(href)
	if d.Status != http.StatusOK || d.Type != "application/pdf" {
		b.t.Fatalf("%s: %s answers %d %s", b.name, href, d.Status, d.Type)
	}
	return pdfText(b.t, d.Body)
}

// documentText is the text of the case page's sealed document of a kind
// (its name in the 文书 list), opened through the page's link.
func (b *tab) documentText(kind string) string {
	b.t.Helper()
	href := eval[string](b, fmt.Sprintf(`(() => { const li = [...document.querySelectorAll("#documents li")].find(li => li.querySelector("b").textContent === %q);
	  const a = li && li.querySelector('a[href^="/api/v1/documents/"]'); return a ? a.getAttribute("href") : ""; })()`, kind))
	if href == "" {
		b.shot("no-document")
		b.t.Fatalf("%s: no PDF link for %s in the documents", b.name, kind)
	}
	return b.pdfText(href)
}

// TestBrowserEnterpriseSignsOnTablet: an enterprise registered with a
// credit code ending in letters (沂源县沂河客运有限公司, …1L17) is walked
// from intake to handover. The agent registers it on the intake page,
// reviews the materials and draws up the agreement; the enterprise's
// representative signs it on a 1024×768 tablet. The page shows the
// agreement's own pages (tap to zoom) and asks for the credit code's last
// four characters; the page and the API refuse a character outside the
// code's alphabet with the same words; lower case is fine. The done page
// hides the pages, shows the name masked, and offers the sealed PDF by QR
// code, link and print button; the link serves the sealed agreement five
// times, then says in Chinese that it is spent. The case is then handled
// to its results, and the receipt is signed on the tablet the same way,
// in lower case again.
func TestBrowserEnterpriseSignsOnTablet(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "t.town", "township_agent", "370323001")
	shots := artifacts(t)
	company := apptest.Enterprise(t, "1L17")
	tok := env.Token(t, "t.town")
	agent := newTab(t, browser, env, "agent", desktop, shots)
	pad := newTab(t, browser, env, "tablet", counterTablet, shots)
	sc := newScenario(t, agent, pad)
	var id int64
	var number, link, copyURL string
	if !sc.step("the agent registers the enterprise", func(t *testing.T) {
		agent.login("t.town")
		agent.follow(`nav a[href="/intake"]`)
		agent.fill("#matter-q", "客运")
		agent.submit(`button[form="matter-search"]`)
		agent.click(`input[name=matter][value=JT001]`)
		agent.click(`input[name=kind][value=enterprise]`)
		agent.fill("#intake-name", company["name"])
		agent.fill("#intake-id-number", company["id_number"])
		agent.fill("#intake-phone", company["phone"])
		agent.set("#intake-region", "370323001002")
		agent.fill("#intake-summary", "新开县际班车线路，申请道路旅客运输经营许可")
		agent.shot("intake")
		agent.submit("#intake-submit")
		agent.sees("#flash", "已登记")
		agent.sees("#case-applicant", company["name"], "企业")
		agent.sees("#case", company["id_number"][:2])
		fmt.Sscan(agent.caseIDOf(), &id)
		number = agent.text("#case-number")
		agent.shot("case-new")
	}) {
		return
	}
	if !sc.step("review and the agreement drawn up", func(t *testing.T) {
		agent.click("#act-review summary")
		agent.tickAll("#act-review")
		eval[int](agent, `document.querySelectorAll("#act-review input[type=number]").forEach(i => i.value = "3"), 0`)
		agent.click(`#act-review input[name=result][value=accept]`)
		agent.submit("#submit-review")
		agent.sees("#case-state", "待签协议")
		agent.follow("#go-agreement")
		link = agent.signingLink(t, "#draft-agreement")
		agent.shot("agreement-link")
	}) {
		return
	}
	if !sc.step("the tablet shows the agreement's pages", func(t *testing.T) {
		pad.open(link)
		pad.sees("#document h2", "代办服务委托协议书")
		pad.sees("#document", number)
		if n := pad.pagesShown(); n < 1 {
			t.Fatalf("%d pages", n)
		}
		pad.sees("label[for=id_last4]", "统一社会信用代码后四位")
		pad.noSideScroll()
		pad.shot("pages")
	}) {
		return
	}
	if !sc.step("a tap zooms a page and another fits it back", func(t *testing.T) {
		pad.click("#page-1 a")
		w := eval[[]float64](pad, `[document.querySelector("#page-1 img").getBoundingClientRect().width, window.innerWidth]`)
		if w[0] < 1.5*w[1]-100 || eval[string](pad, "location.pathname") != pathOf(t, link) {
			t.Fatalf("zoomed page is %.0f px on a %.0f px screen, at %s", w[0], w[1], pad.location())
		}
		pad.shot("zoomed")
		pad.click("#page-1 a")
		pad.noSideScroll()
	}) {
		return
	}
	if !sc.step("the agent signs first", func(t *testing.T) {
		env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement/signatures", id), map[string]any{"image_png": agentSignature(t)}, nil).Must(t, 200)
	}) {
		return
	}
	if !sc.step("a letter outside the code's alphabet is refused alike by page and API", func(t *testing.T) {
		pad.drawByFinger("#pad")
		pad.fill("#id_last4", "1I17")
		if !eval[bool](pad, `document.getElementById("id_last4").validity.patternMismatch`) {
			t.Error("the field's pattern accepts 1I17")
		}
		pad.click("#confirm")
		pad.sees("#error", "请输入统一社会信用代码的后四位：数字或大写字母")
		pad.shot("refused-by-page")
		api := eval[string](pad, fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({image_png: %q, id_last4: "1I17"})}).then(r => r.json()).then(j => j.error.message)`, "/api/v1/sign/"+strings.TrimPrefix(link, "/sign/"), agentSignature(t)))
		if want := strings.TrimSuffix(pad.text("#error"), "。"); api != want {
			t.Errorf("the API says %q, the page %q", api, want)
		}
	}) {
		return
	}
	if !sc.step("a wrong code is counted", func(t *testing.T) {
		pad.fill("#id_last4", "1L18")
		pad.click("#confirm")
		pad.sees("#error", "统一社会信用代码后四位不正确", "还可尝试 4 次")
	}) {
		return
	}
	if !sc.step("lower case signs and seals", func(t *testing.T) {
		pad.fill("#id_last4", "1l17")
		pad.click("#confirm")
		pad.waitVisible("#done")
		pad.sees("#done", "文书已盖章生效", "请用手机扫描二维码", "24 小时内有效", "最多可下载 5 次")
		pad.waitVisible("#copy-qr")
		if w := eval[int](pad, `new Promise(ok => { const i = document.getElementById("copy-qr"); if (i.complete) ok(i.naturalWidth); else i.onload = () => ok(i.naturalWidth); })`); w < 100 {
			t.Errorf("the QR code is %d px", w)
		}
		pad.waitVisible("#copy-print")
		copyURL = eval[string](pad, `document.getElementById("copy-link").getAttribute("href")`)
		if p := eval[string](pad, `document.getElementById("copy-print").getAttribute("href")`); p != copyURL || !strings.HasPrefix(copyURL, "/copy/") {
			t.Fatalf("download %q, print %q", copyURL, p)
		}
		body := pad.text("body")
		for _, secret := range []string{company["name"], company["id_number"]} {
			if strings.Contains(body, secret) {
				t.Errorf("the done page shows %q", secret)
			}
		}
		if n := eval[int](pad, `document.querySelectorAll("#pages img").length`); n != 0 {
			t.Errorf("the done page still holds %d page images", n)
		}
		pad.sees("#done", "沂**")
		pad.noSideScroll()
		pad.shot("done")
	}) {
		return
	}
	if !sc.step("the download link serves the sealed PDF five times", func(t *testing.T) {
		for i := 1; i <= 5; i++ {
			d := pad.download(copyURL)
			if d.Status != 200 || d.Type != "application/pdf" || d.Cache != "no-store" {
				t.Fatalf("download %d: %d %s %q", i, d.Status, d.Type, d.Cache)
			}
			if i == 1 {
				if text := pdfText(t, d.Body); !strings.Contains(text, number) || !strings.Contains(text, "代办服务委托协议书") {
					t.Fatalf("the PDF lacks the case number %s: %s", number, text)
				}
			}
		}
		if d := pad.download(copyURL); d.Status != 404 {
			t.Fatalf("the sixth download answered %d", d.Status)
		}
		pad.open(copyURL)
		pad.sees("main", "下载链接无效、已过期或已达下载次数上限")
		pad.shot("spent")
		pad.open(link)
		pad.sees("main", "签署链接无效")
		if strings.Contains(pad.text("body"), company["name"]) {
			t.Error("the used signing link shows the name")
		}
	}) {
		return
	}
	enterpriseHandover(sc, agent, pad, id, number, company)
}

// enterpriseHandover is the second half of the enterprise's journey: the
// sealed agreement is on the case, the agent records progress and the
// licence, checks the items and the representative signs the receipt on
// the tablet, typing the code's letters in lower case.
func enterpriseHandover(sc *scenario, agent, pad *tab, id int64, number string, company map[string]string) {
	var link string
	if !sc.step("the agreement is sealed and the case runs", func(t *testing.T) {
		agent.open(fmt.Sprintf("/cases/%d", id))
		agent.sees("#case-state", "已委托")
		if text := agent.documentText("代办服务委托协议书"); !strings.Contains(text, company["name"]) {
			t.Errorf("the sealed agreement does not print %s: %s", company["name"], text)
		}
		agent.click("#act-progress summary")
		agent.fill("#progress-step", "报送市交通运输局")
		agent.fill("#progress-note", "申请材料已报送淄博市交通运输局")
		agent.submit("#submit-progress")
		agent.sees("#case-state", "办理中")
		agent.click("#act-results summary")
		agent.set(`select[name="kind.0"]`, "licence")
		agent.fill(`input[name="name.0"]`, "道路运输经营许可证")
		agent.fill(`input[name="number.0"]`, "鲁交运管许可淄字370323000017号")
		agent.submit("#submit-results")
		agent.sees("#case-state", "待交付")
		agent.shot("ready")
	}) {
		return
	}
	if !sc.step("the items are checked for handover", func(t *testing.T) {
		agent.follow("#go-handover")
		agent.tickAll("#handover-form")
		link = agent.signingLink(t, "#verify-items")
	}) {
		return
	}
	if !sc.step("the enterprise signs the receipt in lower case", func(t *testing.T) {
		pad.open(link)
		pad.sees("#document", "签收单", number)
		pad.pagesShown()
		pad.sees("label[for=id_last4]", "统一社会信用代码后四位")
		pad.drawByFinger("#pad")
		pad.fill("#id_last4", strings.ToLower(company["id_number"][14:]))
		pad.click("#confirm")
		pad.waitVisible("#done")
		pad.sees("#done", "文书已盖章生效", "沂**")
		pad.noSideScroll()
		pad.shot("receipt-done")
	}) {
		return
	}
	sc.step("the receipt is sealed and the case closed", func(t *testing.T) {
		agent.open(fmt.Sprintf("/cases/%d/handover", id))
		agent.sees("#receipt-sealed", "申请人已签收")
		text := agent.pdfText(eval[string](agent, `document.getElementById("receipt-pdf").getAttribute("href")`))
		for _, want := range []string{company["name"], number, "道路运输经营许可证"} {
			if !strings.Contains(text, want) {
				t.Errorf("the sealed receipt lacks %s: %s", want, text)
			}
		}
		agent.open(fmt.Sprintf("/cases/%d", id))
		agent.sees("#case-state", "已办结", "已交付签收")
		agent.shot("closed")
	})
}

// agentSignature is a hand-like stroke as a base64 PNG, for the API.
func agentSignature(t *testing.T) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 400, 160))
	for x := 20; x < 380; x++ {
		y := 80 + int(30*math.Sin(float64(x)/25))
		for d := -2; d <= 2; d++ {
			img.Set(x, y+d, color.NRGBA{0, 0, 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
