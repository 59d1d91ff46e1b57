package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestChainOneForm: a 一件事 case gets one combined application form —
// the applicant's details and the shared materials once, every matter with
// its department — sealed like every document; each matter's progress
// within the chain is reported and shown on the case and the tracking page.
func TestChainOneForm(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "chain.town", "township_agent", "370323001")
	tok := env.Token(t, "chain.town")
	id := env.Delegate(t, "chain.town", "370323001001", "YJS001")
	path := fmt.Sprintf("/api/v1/cases/%d", id)

	t.Run("application form", func(t *testing.T) {
		d := env.Do(t, tok, http.MethodPost, path+"/application", nil, nil).Must(t, http.StatusCreated)
		b := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", int64(d.JSON["id"].(float64))), nil, nil).Must(t, http.StatusOK).Body
		if out := pdfsig(t, b); !strings.Contains(out, "Signature is Valid.") {
			t.Fatalf("seal: %s", out)
		}
		c := caseJSON(t, env, tok, id)
		ap := c["applicant"].(map[string]any)
		text := strings.Join(strings.Fields(pdftotext(t, b)), "")
		for _, w := range []string{"一件事联合申请表", "开办餐馆一件事", "个体工商户设立登记", "食品经营许可（新办）", "新办纳税人首次申领发票",
			"县行政审批服务局", "国家税务总局沂源县税务局", "共用材料", "申请人居民身份证（共用", ap["name"].(string)} {
			if !strings.Contains(text, w) {
				t.Errorf("application form lacks %q", w)
			}
		}
		if strings.Contains(text, ap["id_number"].(string)) {
			t.Error("the form prints the full ID number")
		}
		// A single matter has no combined form.
		single := env.Delegate(t, "chain.town", "370323001001", "GT001")
		if e := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/application", single), nil, nil); e.ErrorCode() != "invalid" {
			t.Errorf("a single matter got a combined form: %d", e.Status)
		}
	})
	t.Run("progress per matter", func(t *testing.T) {
		c := caseJSON(t, env, tok, id)
		if e := env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "报送", "matter": "YP001", "matter_status": "submitted"}); e.ErrorCode() != "invalid" {
			t.Fatalf("a matter outside the chain: %d %s", e.Status, e.Body)
		}
		c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "已报送县行政审批服务局", "step": "报送", "matter": "GT001", "matter_status": "submitted"}).Must(t, 200).JSON
		c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "营业执照已核发", "matter": "GT001", "matter_status": "done"}).Must(t, 200).JSON
		c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "已报送", "matter": "SP001", "matter_status": "submitted"}).Must(t, 200).JSON
		got := fmt.Sprint(c["chain_progress"])
		for _, w := range []string{"matter:GT001 status:done", "matter:SP001 status:submitted", "matter:SW002 status:waiting"} {
			if !strings.Contains(got, w) {
				t.Errorf("chain progress lacks %s: %s", w, got)
			}
		}
		tr := env.Do(t, "", http.MethodGet, "/api/v1/track/"+c["tracking_code"].(string), nil, nil).Must(t, http.StatusOK)
		if !strings.Contains(string(tr.Body), `"status":"done"`) || strings.Contains(string(tr.Body), "营业执照已核发") {
			t.Errorf("tracking chain progress: %s", tr.Body)
		}
		if tp := env.Do(t, "", http.MethodGet, "/track/"+c["tracking_code"].(string), nil, nil).Must(t, http.StatusOK); !strings.Contains(string(tp.Body), "个体工商户设立登记：<strong>部门已办结") {
			t.Errorf("the tracking page does not name the matters' progress")
		}
		page := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/cases/%d", id), nil, nil).Must(t, http.StatusOK)
		if !strings.Contains(string(page.Body), "一件事办理进度") || !strings.Contains(string(page.Body), "部门已办结") {
			t.Errorf("the case page does not show the chain's progress")
		}
	})
}
