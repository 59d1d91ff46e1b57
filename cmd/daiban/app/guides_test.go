package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestGuides: the public 办事指南 of a matter and of a 一件事, as JSON, page
// and PDF, without an account; what the department has not published shows
// as such; a catalog change through the CSV import is refused as a whole on
// a bad row (naming row and field), and a good file changes the guide with
// one ledger entry per changed matter.
func TestGuides(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	t.Run("matter guide JSON", func(t *testing.T) {
		r := env.Do(t, "", http.MethodGet, "/api/v1/guides/GT001", nil, nil).Must(t, http.StatusOK)
		m := r.JSON["matters"].([]any)[0].(map[string]any)
		if r.JSON["kind"] != "matter" || m["department"] != "县行政审批服务局" || m["fees"] != "不收费" || m["legal_basis"] != nil || len(m["materials"].([]any)) != 3 {
			t.Fatalf("GT001: %s", r.Body)
		}
		if !strings.Contains(r.JSON["service_fee"].(string), "免费") || !strings.Contains(string(r.Body), "12345") {
			t.Errorf("fee or complaint channel missing: %s", r.Body)
		}
	})
	t.Run("chain guide JSON", func(t *testing.T) {
		r := env.Do(t, "", http.MethodGet, "/api/v1/guides/YJS001", nil, nil).Must(t, http.StatusOK)
		if r.JSON["kind"] != "chain" || len(r.JSON["matters"].([]any)) != 3 || !strings.Contains(string(r.Body), "申请人居民身份证") {
			t.Fatalf("YJS001: %s", r.Body)
		}
		if env.Do(t, "", http.MethodGet, "/api/v1/guides/NOPE", nil, nil).Status != http.StatusNotFound {
			t.Error("an unknown code is not 404")
		}
	})
	t.Run("pages", func(t *testing.T) {
		idx := env.Do(t, "", http.MethodGet, "/guide", nil, nil).Must(t, http.StatusOK)
		page := env.Do(t, "", http.MethodGet, "/guide/GT001", nil, nil).Must(t, http.StatusOK)
		for _, w := range []string{"个体工商户设立登记", "未公布（请向窗口咨询）", "不收费", "承诺时限", "12345"} {
			if !strings.Contains(string(page.Body), w) {
				t.Errorf("guide page lacks %q", w)
			}
		}
		if !strings.Contains(string(idx.Body), "/guide/YJS001") || !strings.Contains(string(idx.Body), "/guide/GT001") {
			t.Error("index lacks the guides")
		}
	})
	t.Run("PDF", func(t *testing.T) {
		r := env.Do(t, "", http.MethodGet, "/guide/YJS001.pdf", nil, nil).Must(t, http.StatusOK)
		text := pdftotext(t, r.Body)
		for _, w := range []string{"办事指南", "开办餐馆一件事", "个体工商户设立登记", "食品经营许可（新办）", "新办纳税人首次申领发票", "未公布", "12345"} {
			if !strings.Contains(text, w) {
				t.Errorf("guide PDF lacks %q", w)
			}
		}
	})
	t.Run("catalog import", func(t *testing.T) {
		ctx := context.Background()
		store := catalog.NewStore(env.Pool)
		before := entriesOfType(t, env, "catalog.matter")
		bad := "code,fees,level,flow\nGT001,不收费,county,受理|窗口|0\nSP001,不收费,township,\n"
		cur, err := store.Current(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = catalog.ParseFile("x.csv", []byte(bad), cur)
		if err == nil || !strings.Contains(err.Error(), "第3行") || !strings.Contains(err.Error(), "level") {
			t.Fatalf("bad row: %v", err)
		}
		good := "code,office_hours,flow\nGT001,工作日 9:00-17:00,申请|申请人|0；审核|县行政审批服务局|1\n"
		c, err := catalog.ParseFile("x.csv", []byte(good), cur)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := store.ImportAs(ctx, c, "admin")
		if err != nil || len(changes) != 1 || changes[0].Code != "GT001" || strings.Join(changes[0].Fields, ",") != "flow,office_hours" {
			t.Fatalf("import: %v %+v", err, changes)
		}
		if n := entriesOfType(t, env, "catalog.matter"); n != before+1 {
			t.Errorf("ledger catalog.matter entries %d, want %d", n, before+1)
		}
		page := env.Do(t, "", http.MethodGet, "/guide/GT001", nil, nil).Must(t, http.StatusOK)
		if !strings.Contains(string(page.Body), "工作日 9:00-17:00") || strings.Contains(string(page.Body), "部门未单独公布办理流程") {
			t.Errorf("the imported fields are not on the guide")
		}
	})
}

func entriesOfType(t *testing.T, env *apptest.Env, typ string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(context.Background(), "SELECT count(*) FROM ledger_entries WHERE type = $1", typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
