package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/pii"
)

// TestResultsByPost: at results the applicant chose post (证照到付); the
// agent verifies every item and records carrier, waybill and address (kept
// sealed, shown masked, never in the ledger); the case waits in
// ready_for_handover until the applicant confirms on the tracking page
// with the code sent to the phone and signs the receipt there — or the
// agent records the carrier's signed proof — then it is closed as posted,
// and the sealed receipt says which.
func TestResultsByPost(t *testing.T) {
	t.Parallel()
	box := &codeBox{}
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{CodeSender: box})
	env.User(t, "post.town", "township_agent", "370323001")
	tok := env.Token(t, "post.town")
	const address = "山东省淄博市沂源县历山街道振兴路88号"
	ready := func(t *testing.T) (int64, map[string]any, []map[string]any) {
		id := env.Delegate(t, "post.town", "370323001001", "GT001")
		c := caseJSON(t, env, tok, id)
		c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "已提交"}).Must(t, 200).JSON
		c = env.Act(t, tok, id, version(c), "results", map[string]any{"delivery": "post", "items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": "92370323MA3F4H6W4W"}}}).Must(t, 200).JSON
		var items []map[string]any
		for _, it := range c["handover_items"].([]any) {
			items = append(items, map[string]any{"id": it.(map[string]any)["id"], "verified": true})
		}
		return id, c, items
	}
	post := map[string]any{"carrier": "EMS", "waybill": "1180245678901", "address": address}

	t.Run("applicant confirms on the phone", func(t *testing.T) {
		id, c, items := ready(t)
		path := fmt.Sprintf("/api/v1/cases/%d", id)
		if e := env.Do(t, tok, http.MethodPost, path+"/handover", map[string]any{"items": items}, nil); e.ErrorCode() != "invalid" {
			t.Fatalf("posted handover without post details: %d %s", e.Status, e.Body)
		}
		h := env.Do(t, tok, http.MethodPost, path+"/handover", map[string]any{"items": items, "post": post}, nil).Must(t, http.StatusCreated)
		if h.JSON["delivery"] != "post" || h.JSON["code_sent"] != true || h.JSON["signing_url"] != nil {
			t.Fatalf("posted handover: %s", h.Body)
		}
		d := env.Do(t, tok, http.MethodGet, path+"/delivery", nil, nil).Must(t, http.StatusOK)
		if strings.Contains(string(d.Body), address) || d.JSON["address"] != "山东省淄博市****" || d.JSON["waybill"] != "1180245678901" {
			t.Fatalf("delivery: %s", d.Body)
		}
		if s := caseJSON(t, env, tok, id)["state"]; s != "ready_for_handover" {
			t.Fatalf("after dispatch: %v", s)
		}
		ap := c["applicant"].(map[string]any)
		otp := lastCode(t, box, ap["phone"].(string))
		code := c["tracking_code"].(string)
		tr := env.Do(t, "", http.MethodGet, "/api/v1/track/"+code, nil, nil).Must(t, http.StatusOK)
		if !strings.Contains(string(tr.Body), "1180245678901") || strings.Contains(string(tr.Body), "振兴路") {
			t.Errorf("tracking: %s", tr.Body)
		}
		if e := env.Do(t, "", http.MethodPost, "/api/v1/track/"+code+"/delivery", map[string]any{"otp": wrongCode(otp)}, nil); e.ErrorCode() != "invalid" {
			t.Fatalf("wrong code: %d %s", e.Status, e.Body)
		}
		l := env.Do(t, "", http.MethodPost, "/api/v1/track/"+code+"/delivery", map[string]any{"otp": otp}, nil).Must(t, http.StatusOK)
		token := strings.TrimPrefix(l.JSON["signing_url"].(string), "/sign/")
		idn := ap["id_number"].(string)
		done := env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 9), "id_last4": idn[len(idn)-4:]}, nil).Must(t, http.StatusOK)
		if done.JSON["case_state"] != "closed" {
			t.Fatalf("after signing: %s", done.Body)
		}
		closed := caseJSON(t, env, tok, id)
		if closed["outcome"] != "posted" {
			t.Fatalf("outcome %v", closed["outcome"])
		}
		text := receiptText(t, env, tok, closed)
		for _, w := range []string{"邮寄送达", "EMS", "1180245678901", "手机上凭确认码"} {
			if !strings.Contains(text, w) {
				t.Errorf("receipt lacks %q", w)
			}
		}
	})
	t.Run("carrier proof", func(t *testing.T) {
		id, _, items := ready(t)
		path := fmt.Sprintf("/api/v1/cases/%d", id)
		env.Do(t, tok, http.MethodPost, path+"/handover", map[string]any{"items": items, "post": post}, nil).Must(t, http.StatusCreated)
		st := env.Do(t, tok, http.MethodPost, path+"/delivery/proof", map[string]any{"image_png": signaturePNG(t, 4)}, nil).Must(t, http.StatusOK)
		if st.JSON["case_state"] != "closed" {
			t.Fatalf("proof: %s", st.Body)
		}
		closed := caseJSON(t, env, tok, id)
		if closed["outcome"] != "posted" {
			t.Fatalf("outcome %v", closed["outcome"])
		}
		if text := receiptText(t, env, tok, closed); !strings.Contains(text, "承运人签收凭证") {
			t.Errorf("receipt does not say the carrier's proof: %s", text)
		}
	})
	t.Run("no address in the ledger", func(t *testing.T) {
		var n int
		if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM ledger_entries WHERE convert_from(payload, 'UTF8') LIKE '%振兴路%'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d ledger entries hold the address", n)
		}
	})
	t.Run("key rotation re-seals the addresses", func(t *testing.T) {
		if _, err := pii.Rotate(env.Keys); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // the server rereads pii.key
		n, err := cases.ResealAddresses(context.Background(), env.Pool, env.App.PII)
		if err != nil || n != 2 {
			t.Fatalf("re-sealed %d addresses (%v), want 2", n, err)
		}
		if n, err := cases.ResealAddresses(context.Background(), env.Pool, env.App.PII); err != nil || n != 0 {
			t.Errorf("second pass re-sealed %d (%v)", n, err)
		}
	})
}

func lastCode(t *testing.T, b *codeBox, phone string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.sent[phone]
	if len(msgs) == 0 {
		t.Fatalf("no code sent to %s", phone)
	}
	text := msgs[len(msgs)-1]
	// One SMS, ending with the tracking page where the applicant signs.
	if n := notify.TextLen(text); n >= notify.MaxText || !regexp.MustCompile(`/track/[0-9A-Z]+$`).MatchString(text) {
		t.Errorf("the dispatch text (%d characters) is not one SMS ending with the tracking link: %s", n, text)
	}
	i := strings.Index(text, "确认码 ")
	return text[i+len("确认码 ") : i+len("确认码 ")+6]
}

func wrongCode(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}

// receiptText is the text of a closed case's sealed receipt, after pdfsig
// found its seal valid.
func receiptText(t *testing.T, env *apptest.Env, tok string, c map[string]any) string {
	t.Helper()
	for _, d := range c["documents"].([]any) {
		doc := d.(map[string]any)
		if doc["kind"] != "receipt" {
			continue
		}
		b := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", int64(doc["id"].(float64))), nil, nil).Must(t, http.StatusOK).Body
		if out := pdfsig(t, b); !strings.Contains(out, "Signature is Valid.") {
			t.Fatalf("receipt seal: %s", out)
		}
		return strings.Join(strings.Fields(pdftotext(t, b)), "")
	}
	t.Fatal("no receipt")
	return ""
}
