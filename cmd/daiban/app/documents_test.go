package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// signaturePNG draws a hand-like stroke and returns it base64-encoded.
func signaturePNG(t *testing.T, seed int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 400, 160))
	for x := 20; x < 380; x++ {
		y := 80 + int(40*float64((x*seed)%97)/97.0) - 20
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

// pdfsig runs poppler's pdfsig on a PDF and returns its output.
func pdfsig(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("pdfsig", f).CombinedOutput()
	return string(out)
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	return string(out)
}

// TestDocumentsEndToEnd issues the notice, signs the agreement at the
// counter (agent and applicant through the one-time link), hands the
// results over against the applicant's signed receipt, and verifies every
// sealed document with pdfsig and the public verification endpoints.
func TestDocumentsEndToEnd(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "d.town", "township_agent", "370323001")
	env.User(t, "d.other", "township_agent", "370323101")
	env.User(t, "d.super", "supervisor", "370323001")
	tok := env.Token(t, "d.town")
	person := apptest.Person(t, 5)
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": person, "summary": "开办小餐馆",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	path := fmt.Sprintf("/api/v1/cases/%d", id)

	// One-time notice at consultation.
	n := env.Do(t, tok, http.MethodPost, path+"/notice", nil, nil).Must(t, 201)
	noticeID := int64(n.JSON["document_id"].(float64))
	pdf := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", noticeID), nil, nil).Must(t, 200)
	if out := pdfsig(t, pdf.Body); !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("notice seal: %s", out)
	}
	text := pdftotext(t, pdf.Body)
	if !strings.Contains(text, "一次告知单") || !strings.Contains(strings.Join(strings.Fields(text), ""), r.JSON["number"].(string)) {
		t.Fatalf("notice text lacks title or number:\n%s", text)
	}
	env.Do(t, env.Token(t, "d.other"), http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", noticeID), nil, nil).Must(t, 404)

	// Review, then the agreement.
	c := caseJSON(t, env, tok, id)
	env.Do(t, tok, http.MethodPost, path+"/agreement", nil, nil).Must(t, 409) // not yet accepted
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200).JSON
	a := env.Do(t, tok, http.MethodPost, path+"/agreement", nil, nil).Must(t, 201)
	link := a.JSON["signing_url"].(string)
	if !strings.HasPrefix(link, "/sign/") {
		t.Fatalf("signing_url %q", link)
	}
	token := strings.TrimPrefix(link, "/sign/")
	page := env.Do(t, "", http.MethodGet, link, nil, nil).Must(t, 200)
	if !strings.Contains(string(page.Body), "请签名确认") || strings.Contains(string(page.Body), person["id_number"]) {
		t.Fatalf("signing page: %s", page.Body)
	}
	env.Do(t, tok, http.MethodPost, path+"/agreement/signatures", map[string]any{"image_png": signaturePNG(t, 3)}, nil).Must(t, 200)
	bad := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": "0000"}, nil)
	if bad.Status != 422 || bad.JSON["error"].(map[string]any)["field"] != "id_last4" {
		t.Fatalf("wrong id_last4: %d %s", bad.Status, bad.Body)
	}
	notPNG := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": base64.StdEncoding.EncodeToString([]byte("GIF89a not a png")), "id_last4": person["id_number"][14:]}, nil)
	if notPNG.Status != 422 {
		t.Fatalf("non-PNG signature: %d %s", notPNG.Status, notPNG.Body)
	}
	ok := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": person["id_number"][14:]}, nil).Must(t, 200)
	if ok.JSON["sealed"] != true || ok.JSON["case_state"] != "delegated" {
		t.Fatalf("after both signatures: %s", ok.Body)
	}
	env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": person["id_number"][14:]}, nil).Must(t, 404) // used once
	c = caseJSON(t, env, tok, id)
	if c["state"] != "delegated" || c["due_date"] == nil {
		t.Fatalf("case after agreement: %v %v", c["state"], c["due_date"])
	}
	var agreementID int64
	var agreementSHA string
	for _, d := range c["documents"].([]any) {
		if dm := d.(map[string]any); dm["kind"] == "agreement" {
			agreementID, agreementSHA = int64(dm["id"].(float64)), dm["sha256"].(string)
		}
	}
	if agreementID == 0 {
		t.Fatalf("case lists no agreement: %v", c["documents"])
	}
	ag := env.Do(t, env.Token(t, "d.super"), http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", agreementID), nil, nil).Must(t, 200)
	sum := sha256.Sum256(ag.Body)
	if hex.EncodeToString(sum[:]) != agreementSHA {
		t.Fatal("served PDF does not match its recorded SHA-256")
	}
	if out := pdfsig(t, ag.Body); !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("agreement seal: %s", out)
	}
	atext := strings.Join(strings.Fields(pdftotext(t, ag.Body)), "")
	for _, want := range []string{"代办服务委托协议书", person["name"], "免费", c["tracking_code"].(string)} {
		if !strings.Contains(atext, want) {
			t.Errorf("agreement text lacks %q", want)
		}
	}
	if strings.Contains(atext, person["id_number"]) {
		t.Error("agreement prints the full ID number")
	}
	// Public verification by hash: what it is, nothing personal.
	env.App.Ledger.Notify()
	v := env.Do(t, "", http.MethodGet, "/api/v1/verify/"+agreementSHA, nil, nil).Must(t, 200)
	if v.JSON["kind"] != "agreement" || strings.Contains(string(v.Body), person["name"]) || strings.Contains(string(v.Body), person["id_number"]) {
		t.Fatalf("verify: %s", v.Body)
	}
	env.Do(t, "", http.MethodGet, "/verify/"+agreementSHA, nil, nil).Must(t, 200)
	env.Do(t, "", http.MethodGet, "/api/v1/verify/"+strings.Repeat("0", 64), nil, nil).Must(t, 404)
	env.Do(t, "", http.MethodGet, "/api/v1/certificate", nil, nil).Must(t, 200)

	// Processing, results, handover against the signed receipt.
	c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "已提交审批局"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "results", map[string]any{"items": []map[string]any{{"kind": "licence", "name": "食品经营许可证", "number": "JY13703230000002"}}}).Must(t, 200).JSON
	var items []map[string]any
	for _, it := range c["handover_items"].([]any) {
		items = append(items, map[string]any{"id": it.(map[string]any)["id"], "verified": false})
	}
	env.Do(t, tok, http.MethodPost, path+"/handover", map[string]any{"items": items}, nil).Must(t, 422) // not verified
	for _, it := range items {
		it["verified"] = true
	}
	h := env.Do(t, tok, http.MethodPost, path+"/handover", map[string]any{"items": items}, nil).Must(t, 201)
	rtoken := strings.TrimPrefix(h.JSON["signing_url"].(string), "/sign/")
	done := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+rtoken, map[string]any{"image_png": signaturePNG(t, 7), "id_last4": strings.ToLower(person["id_number"][14:])}, nil).Must(t, 200)
	if done.JSON["case_state"] != "closed" {
		t.Fatalf("after receipt: %s", done.Body)
	}
	c = caseJSON(t, env, tok, id)
	if c["outcome"] != "handed_over" || len(c["documents"].([]any)) != 3 {
		t.Fatalf("closed case: %v, %d documents", c["outcome"], len(c["documents"].([]any)))
	}
	replayLedger(t, env, id)
}

// TestSigningLinkVoidsAfterFiveWrongTries checks the one-time link's limit.
func TestSigningLinkVoidsAfterFiveWrongTries(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "w.town", "township_agent", "370323001")
	tok := env.Token(t, "w.town")
	id, _ := env.CreateCase(t, tok, "370323001", "GT001")
	c := caseJSON(t, env, tok, id)
	env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200)
	a := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement", id), nil, nil).Must(t, 201)
	token := strings.TrimPrefix(a.JSON["signing_url"].(string), "/sign/")
	// Four digits, as an ID card's rule allows, but not the applicant's.
	wrong := "0000"
	if strings.HasSuffix(c["applicant"].(map[string]any)["id_number"].(string), wrong) {
		wrong = "1111"
	}
	for i := 0; i < 5; i++ {
		env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 1), "id_last4": wrong}, nil).Must(t, 422)
	}
	env.Do(t, "", http.MethodGet, "/api/v1/sign/"+token, nil, nil).Must(t, 404)
	// A fresh link from the agent works again.
	l := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement/link", id), nil, nil).Must(t, 201)
	env.Do(t, "", http.MethodGet, "/api/v1/sign/"+strings.TrimPrefix(l.JSON["signing_url"].(string), "/sign/"), nil, nil).Must(t, 200)
}
