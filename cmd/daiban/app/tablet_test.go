package app_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// enterprise is an applicant registered with a unified social credit code
// that ends in letters (valid check character).
var enterprise = map[string]string{"kind": "enterprise", "name": "沂源县鲁村镇小丁食品有限公司", "id_number": "91370323MA3C6A1L17", "phone": "13853300017"}

// draftFor opens a case for applicant, accepts it and drafts the
// agreement; it returns the case id and the signing token.
func draftFor(t *testing.T, env *apptest.Env, tok string, applicant map[string]string) (int64, string) {
	t.Helper()
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": applicant, "summary": "办理食品经营许可",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	c := caseJSON(t, env, tok, id)
	env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200)
	a := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement", id), nil, nil).Must(t, 201)
	return id, strings.TrimPrefix(a.JSON["signing_url"].(string), "/sign/")
}

func errMessage(r apptest.Response) string {
	e, _ := r.JSON["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// TestEnterpriseSignsWithCreditCode: the link tells the tablet to ask for
// the credit code's last four characters; characters outside the code's
// alphabet are refused with the rule's hint and not counted; a wrong code
// is counted and named by its kind; lower case is accepted.
func TestEnterpriseSignsWithCreditCode(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "e.town", "township_agent", "370323001")
	tok := env.Token(t, "e.town")
	id, token := draftFor(t, env, tok, enterprise)

	info := env.Do(t, "", http.MethodGet, "/api/v1/sign/"+token, nil, nil).Must(t, 200).JSON
	conf := info["confirm"].(map[string]any)
	if conf["kind"] != "enterprise" || conf["label"] != "统一社会信用代码后四位" || !strings.Contains(conf["pattern"].(string), "A-HJ-NP-RTUWXY") {
		t.Fatalf("confirm %v", conf)
	}
	page := env.Do(t, "", http.MethodGet, "/sign/"+token, nil, nil).Must(t, 200)
	if b := string(page.Body); !strings.Contains(b, "统一社会信用代码后四位") || !strings.Contains(b, `pattern="[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{4}"`) || strings.Contains(b, "身份证号码后四位") {
		t.Fatalf("signing page field:\n%s", b)
	}
	env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement/signatures", id), map[string]any{"image_png": signaturePNG(t, 3)}, nil).Must(t, 200)

	sign := func(last4 string) apptest.Response {
		return env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": last4}, nil)
	}
	for _, bad := range []string{"1I17", "1O17", "1L1-"} {
		r := sign(bad)
		if r.Status != 422 || !strings.Contains(errMessage(r), "统一社会信用代码的后四位") {
			t.Fatalf("%q: %d %s", bad, r.Status, r.Body)
		}
	}
	if left := env.Do(t, "", http.MethodGet, "/api/v1/sign/"+token, nil, nil).Must(t, 200).JSON["attempts_left"]; left != float64(5) {
		t.Fatalf("characters outside the alphabet were counted: %v tries left", left)
	}
	r := sign("1L18")
	if r.Status != 422 || errMessage(r) != "统一社会信用代码后四位不正确，还可尝试 4 次" {
		t.Fatalf("wrong code: %d %s", r.Status, r.Body)
	}
	ok := sign("1l17").Must(t, 200).JSON
	if ok["sealed"] != true || ok["case_state"] != "delegated" {
		t.Fatalf("after signing: %v", ok)
	}
	if cp, _ := ok["copy"].(map[string]any); cp == nil || !strings.HasPrefix(cp["url"].(string), "/copy/") || cp["max_uses"] != float64(5) {
		t.Fatalf("no download link: %v", ok)
	}
	// The link lives one day, and only its hash is kept.
	var day bool
	var hashLen int
	if err := env.Pool.QueryRow(context.Background(), "SELECT expires_at - created_at = interval '24 hours', length(token_hash) FROM copy_links").Scan(&day, &hashLen); err != nil || !day || hashLen != 32 {
		t.Fatalf("copy link lifetime one day: %v, hash %d bytes: %v", day, hashLen, err)
	}
}

// TestPersonConfirmation: an ID card's last four are digits with an X at
// the end at most; a letter is refused with the ID card's hint.
func TestPersonConfirmation(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.town", "township_agent", "370323001")
	tok := env.Token(t, "p.town")
	person := apptest.Person(t, 2)
	_, token := draftFor(t, env, tok, person)
	if conf := env.Do(t, "", http.MethodGet, "/api/v1/sign/"+token, nil, nil).Must(t, 200).JSON["confirm"].(map[string]any); conf["label"] != "身份证号码后四位" {
		t.Fatalf("confirm %v", conf)
	}
	r := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": "1L17"}, nil)
	if r.Status != 422 || !strings.Contains(errMessage(r), "身份证号码的后四位") {
		t.Fatalf("a letter for an ID card: %d %s", r.Status, r.Body)
	}
}

// TestTabletPagesAndCopy: the tablet gets the draft's pages as images
// behind the token (nothing for a wrong token or page); the applicant's
// download link waits for the seal without counting, then serves the
// sealed PDF five times, never cached, and answers 404 in Chinese after.
func TestTabletPagesAndCopy(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "c.town", "township_agent", "370323001")
	tok := env.Token(t, "c.town")
	person := apptest.Person(t, 6)
	id, token := draftFor(t, env, tok, person)
	number := caseJSON(t, env, tok, id)["number"].(string)

	page := env.Do(t, "", http.MethodGet, "/sign/"+token, nil, nil).Must(t, 200)
	if !strings.Contains(string(page.Body), "/sign/"+token+"/pages/1") {
		t.Fatalf("the signing page shows no page image:\n%s", page.Body)
	}
	img := env.Do(t, "", http.MethodGet, "/sign/"+token+"/pages/1", nil, nil).Must(t, 200)
	if img.Header.Get("Content-Type") != "image/png" || img.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page image headers %v", img.Header)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img.Body))
	if err != nil || cfg.Width < 1200 || cfg.Height < cfg.Width {
		t.Fatalf("page image %dx%d: %v", cfg.Width, cfg.Height, err)
	}
	// The pages anyone with the link can open are the document to be
	// sealed, but without the ID number's last four characters: those are
	// the answer the tablet asks for.
	prev, err := env.App.Documents.PreviewPDF(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, prev)
	if id := person["id_number"]; !strings.Contains(text, id[:4]+"**************") || strings.Contains(text, id[14:]) {
		t.Fatalf("the tablet's pages show the ID number as:\n%s", text)
	}
	if !strings.Contains(text, person["name"]) || !strings.Contains(text, number) {
		t.Fatalf("the tablet's pages lack the applicant or the case:\n%s", text)
	}
	env.Do(t, "", http.MethodGet, "/sign/"+token+"/pages/9", nil, nil).Must(t, 404)
	env.Do(t, "", http.MethodGet, "/sign/"+strings.Repeat("A", 32)+"/pages/1", nil, nil).Must(t, 404)

	// The applicant signs first: the link exists, the PDF waits for the agent.
	r := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": person["id_number"][14:]}, nil).Must(t, 200).JSON
	if r["sealed"] != false {
		t.Fatalf("sealed before the agent signed: %v", r)
	}
	link := r["copy"].(map[string]any)["url"].(string)
	env.Do(t, "", http.MethodGet, "/sign/"+token+"/pages/1", nil, nil).Must(t, 404) // the link is used
	wait := env.Do(t, "", http.MethodGet, link, nil, nil).Must(t, 409)
	if !strings.Contains(string(wait.Body), "工作人员签名后即可下载") {
		t.Fatalf("before the seal: %s", wait.Body)
	}
	q := env.Do(t, "", http.MethodGet, link+"/qr", nil, nil).Must(t, 200)
	if q.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR code: %v", q.Header)
	}
	env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement/signatures", id), map[string]any{"image_png": signaturePNG(t, 3)}, nil).Must(t, 200)

	for i := 1; i <= 5; i++ {
		d := env.Do(t, "", http.MethodGet, link, nil, nil).Must(t, 200)
		if d.Header.Get("Content-Type") != "application/pdf" || d.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("download %d headers %v", i, d.Header)
		}
		if i == 1 {
			if out := pdfsig(t, d.Body); !strings.Contains(out, "Signature is Valid.") {
				t.Fatalf("the copy's seal: %s", out)
			}
			if text := strings.Join(strings.Fields(pdftotext(t, d.Body)), ""); !strings.Contains(text, number) || !strings.Contains(text, "代办服务委托协议书") {
				t.Fatalf("the copy lacks the case number %s:\n%s", number, text)
			}
		}
	}
	spent := env.Do(t, "", http.MethodGet, link, nil, nil).Must(t, 404)
	if !strings.Contains(string(spent.Body), "已达下载次数上限") {
		t.Fatalf("a spent link: %s", spent.Body)
	}
	env.Do(t, "", http.MethodGet, link+"/qr", nil, nil).Must(t, 404)
	env.Do(t, "", http.MethodGet, "/copy/short", nil, nil).Must(t, 404)
}

// TestLiveLinkShownAgain: the agent's agreement page shows the live
// signing link again when it is opened later (a reload, back from the
// case page) instead of making the agent void it for a new one; once the
// applicant has signed, or the link is replaced, the old one is gone. The
// token is stored sealed, never in clear.
func TestLiveLinkShownAgain(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "l.town", "township_agent", "370323001")
	tok := env.Token(t, "l.town")
	person := apptest.Person(t, 2)
	id, token := draftFor(t, env, tok, person)
	page := func() string {
		return string(env.Do(t, "", http.MethodGet, fmt.Sprintf("/cases/%d/agreement", id), nil,
			map[string]string{"Cookie": "daiban_session=" + tok, "Accept": "text/html"}).Must(t, http.StatusOK).Body)
	}
	if p := page(); !strings.Contains(p, `href="/sign/`+token+`"`) {
		t.Fatalf("the agreement page does not show the live link again")
	}
	var clear int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM sign_links WHERE position($1::bytea IN token_enc) > 0", []byte(token)).Scan(&clear); err != nil || clear != 0 {
		t.Fatalf("the token is stored in clear (%d rows, %v)", clear, err)
	}
	// A new link voids the old one; the page shows the new one.
	n := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement/link", id), nil, nil).Must(t, http.StatusCreated)
	fresh := strings.TrimPrefix(n.JSON["signing_url"].(string), "/sign/")
	if p := page(); strings.Contains(p, token) || !strings.Contains(p, `href="/sign/`+fresh+`"`) {
		t.Fatalf("after a new link the page shows the old one or not the new one")
	}
	env.Do(t, "", http.MethodPost, "/api/v1/sign/"+fresh, map[string]any{"image_png": signaturePNG(t, 3), "id_last4": person["id_number"][14:]}, nil).Must(t, http.StatusOK)
	if p := page(); strings.Contains(p, "/sign/") {
		t.Fatalf("the used link is still shown")
	}
}
