package ledger_test

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/httpapi"
)

// call runs one route's handler the way the guard would after letting the
// request through (the guard itself is tested in httpapi).
func call(t *testing.T, routes []httpapi.Route, path, target string, p httpapi.Principal, params ...string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	var rt *httpapi.Route
	for i := range routes {
		if routes[i].Path == path {
			rt = &routes[i]
		}
	}
	if rt == nil {
		t.Fatalf("no route %s", path)
	}
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(rt.Method, target, nil), rec)
	c.SetPath(path)
	if len(params) > 0 {
		c.SetParamNames(params[0])
		c.SetParamValues(params[1])
	}
	c.Set("principal", p)
	return rec, rt.Handler(c)
}

func TestRoutes(t *testing.T) {
	routes := ledger.New(nil, nil).Routes(func(echo.Context, httpapi.Principal) (string, string, error) { return "", "any", nil })
	want := map[string][2]string{
		"/api/v1/ledger/checkpoint": {"ledger", "read"},
		"/api/v1/ledger/proof":      {"ledger", "read"},
		"/api/v1/cases/:id/ledger":  {"case", "ledger"},
		"/api/v1/ledger/export.csv": {"ledger", "export"},
	}
	for _, rt := range routes {
		w, ok := want[rt.Path]
		if !ok || rt.Method != http.MethodGet || rt.Obj != w[0] || rt.Act != w[1] || rt.Public {
			t.Errorf("route %s %s %s:%s", rt.Method, rt.Path, rt.Obj, rt.Act)
		}
		if !httpapi.Known(rt.Obj, rt.Act) {
			t.Errorf("%s:%s is not in the policy", rt.Obj, rt.Act)
		}
		if (rt.Path == "/api/v1/cases/:id/ledger") != (rt.Scope != nil) {
			t.Errorf("route %s scope", rt.Path)
		}
		delete(want, rt.Path)
	}
	if len(want) != 0 {
		t.Errorf("missing routes %v", want)
	}
}

func TestHTTP(t *testing.T) {
	e, _, _ := buildLedger(t) // cases 1..4 in 370323001, 10+5+5+5 entries
	ctx := context.Background()
	// One entry of a case in another township and one without a case.
	if _, err := ledger.Append(ctx, e.app, ledger.Meta{Actor: "wangwu", CaseID: 7, Region: "370323002", Type: "case.created"}, map[string]string{"note": "其他乡镇"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Append(ctx, e.app, ledger.Meta{Actor: "system:deadlines", Type: "calendar.loaded"}, map[string]int{"year": 2025}); err != nil {
		t.Fatal(err)
	}
	e.integrateAll(t)
	routes := e.log.Routes(nil)
	sup := httpapi.Principal{Username: "dubao", Role: "supervisor", Region: "370323001"}

	rec, err := call(t, routes, "/api/v1/ledger/checkpoint", "/api/v1/ledger/checkpoint", sup)
	if err != nil || rec.Code != http.StatusOK {
		t.Fatalf("checkpoint: %d, %v", rec.Code, err)
	}
	var cp struct {
		Size int64     `json:"size"`
		Root tlog.Hash `json:"root"`
		Note string    `json:"note"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Size != 27 {
		t.Fatalf("checkpoint size %d", cp.Size)
	}
	if got, err := e.sig.Open([]byte(cp.Note)); err != nil || got.Root != cp.Root || got.Size != cp.Size {
		t.Fatalf("checkpoint note: %+v, %v", got, err)
	}

	for q, field := range map[string]string{
		"":                    "index",
		"?size=5":             "index",
		"?index=1":            "size",
		"?index=x&size=5":     "index",
		"?index=1&size=-2":    "size",
		"?index=5&size=5":     "index",
		"?index=1&size=28":    "size",
		"?index=-1&size=5":    "index",
		"?index=1&size=0":     "size",
		"?index=1&size=99999": "size",
	} {
		_, err := call(t, routes, "/api/v1/ledger/proof", "/api/v1/ledger/proof"+q, sup)
		if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorField(err) != field {
			t.Errorf("proof%s: %v, want invalid %s", q, err, field)
		}
	}
	rec, err = call(t, routes, "/api/v1/ledger/proof", "/api/v1/ledger/proof?index=12&size=27", sup)
	if err != nil {
		t.Fatal(err)
	}
	var proof struct {
		Index    int64            `json:"index"`
		Size     int64            `json:"size"`
		LeafHash tlog.Hash        `json:"leaf_hash"`
		Proof    tlog.RecordProof `json:"proof"`
		Root     tlog.Hash        `json:"root"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &proof); err != nil {
		t.Fatal(err)
	}
	en, err := e.log.EntryByIndex(ctx, 12)
	if err != nil {
		t.Fatal(err)
	}
	if proof.Index != 12 || proof.Size != 27 || proof.Root != cp.Root || proof.LeafHash != en.LeafHash() {
		t.Fatalf("proof %+v", proof)
	}
	if err := tlog.CheckRecord(proof.Proof, 27, cp.Root, 12, en.LeafHash()); err != nil {
		t.Fatal(err)
	}

	rec, err = call(t, routes, "/api/v1/cases/:id/ledger", "/api/v1/cases/2/ledger", sup, "id", "2")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []ledger.Entry `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 5 || list.Items[0].Index != 10 || list.Items[0].CaseID != 2 || !strings.Contains(string(list.Items[0].Payload), "办理进度") {
		t.Fatalf("case ledger: %s", rec.Body.String())
	}
	if _, err := call(t, routes, "/api/v1/cases/:id/ledger", "/api/v1/cases/x/ledger", sup, "id", "x"); daiban.ErrorField(err) != "id" {
		t.Fatalf("bad case id: %v", err)
	}

	// Export: BOM, header, only the supervisor's township, leaf hashes that
	// match the tree.
	e.log.SetEventNames(func(typ string) string { return "事件·" + typ })
	rec, err = call(t, routes, "/api/v1/ledger/export.csv", "/api/v1/ledger/export.csv", sup)
	if err != nil {
		t.Fatal(err)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	body := rec.Body.String()
	if !strings.HasPrefix(body, "\xEF\xBB\xBF") {
		t.Fatal("no byte-order mark")
	}
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\xEF\xBB\xBF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(records[0], ",") != strings.Join(ledger.ExportHeader, ",") || len(records) != 1+25 {
		t.Fatalf("export has %d rows, header %v", len(records)-1, records[0])
	}
	for _, r := range records[1:] {
		idx, _ := strconv.ParseInt(r[0], 10, 64)
		en, err := e.log.EntryByIndex(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		h := en.LeafHash()
		if r[ledger.ColRegion] != "370323001" || r[ledger.ColPayload] != string(en.Payload) || r[ledger.ColLeafHash] != base64.StdEncoding.EncodeToString(h[:]) {
			t.Fatalf("export row %v", r)
		}
		// People read Beijing time and a Chinese name; the machine columns
		// stay as in the leaf.
		if want := en.At.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"); r[ledger.ColLocalTime] != want {
			t.Fatalf("export Beijing time %q, want %q", r[ledger.ColLocalTime], want)
		}
		if r[ledger.ColName] != "事件·"+r[ledger.ColType] {
			t.Fatalf("export event name %q for type %q", r[ledger.ColName], r[ledger.ColType])
		}
		leaf := `["` + ledger.LeafTag + `","` + r[ledger.ColTime] + `",` + strconv.Quote(r[ledger.ColActor]) + `,` + r[ledger.ColCase] + `,"` + r[ledger.ColRegion] + `","` + r[ledger.ColType] + `",` + r[ledger.ColPayload] + `]`
		if tlog.RecordHash([]byte(leaf)) != h {
			t.Fatalf("leaf hash cannot be recomputed from the export row %v", r)
		}
	}
	county := httpapi.Principal{Username: "xianji", Role: "supervisor", Region: "370323"}
	rec, err = call(t, routes, "/api/v1/ledger/export.csv", "/api/v1/ledger/export.csv", county)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(rec.Body.String(), "\n"); n != 1+26 {
		t.Fatalf("county export has %d lines, want header + 26 case entries", n)
	}
}
