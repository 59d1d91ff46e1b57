package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/daiban/daiban/app/apptest"
	"github.com/daiban/daiban/cases"
)

// bodyRoute is one API route that reads a request body, with its path
// parameters filled in.
type bodyRoute struct {
	key, method, path string
}

// FuzzRequestBodies sends arbitrary bodies to every API route that decodes
// one (every action, case creation, custody, rectification, evaluation,
// signatures, users, login, notices), on a running service with a real
// database, as a role allowed to call it. Whatever the body, the answer is
// never a 5xx, is JSON, and a refusal is the error envelope with a code
// and a message.
//
// The route is named by its key ("POST /api/v1/cases/:id/actions/review");
// an unknown key picks a route by its hash, so the fuzzer reaches all of
// them and the corpus stays readable.
func FuzzRequestBodies(f *testing.F) {
	env := apptest.New(f)
	env.User(f, "fz.county", "county_agent", "370323")
	env.User(f, "fz.super", "supervisor", "370323")
	env.User(f, "fz.admin", "admin", "370323")
	env.User(f, "fz.victim", "township_agent", "370323001")
	tokens := []string{env.Token(f, "fz.county"), env.Token(f, "fz.super"), env.Token(f, "fz.admin")}
	caseID, _ := env.CreateCase(f, tokens[0], "370323001001", "SP001")

	var routes []bodyRoute
	for _, rt := range env.App.HTTP.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/") || rt.Method == http.MethodGet || rt.Method == http.MethodHead {
			continue
		}
		if rt.Path == "/api/v1/logout" {
			continue // it reads no body, and would end the fuzzer's session
		}
		acts := []string{""}
		if strings.Contains(rt.Path, ":action") {
			acts = cases.Actions
		}
		for _, act := range acts {
			p := strings.ReplaceAll(rt.Path, ":action", act)
			p = strings.ReplaceAll(p, ":id", fmt.Sprint(caseID))
			p = strings.ReplaceAll(p, ":username", "fz.victim")
			p = strings.ReplaceAll(p, ":code", "GT001")
			p = strings.ReplaceAll(p, ":token", "fuzz-token-not-issued")
			key := rt.Method + " " + strings.ReplaceAll(rt.Path, ":action", act)
			routes = append(routes, bodyRoute{key: key, method: rt.Method, path: p})
		}
	}
	if len(routes) < 20 {
		f.Fatalf("only %d body routes", len(routes))
	}
	slices.SortFunc(routes, func(a, b bodyRoute) int { return strings.Compare(a.key, b.key) })

	person, _ := json.Marshal(apptest.Person(f, 3))
	seeds := map[string][]string{
		"POST /api/v1/cases": {
			`{"region":"370323001001","channel":"counter","matter":"GT001","applicant":` + string(person) + `,"summary":"咨询"}`,
			`{"region":"370323001001","channel":"phone","matter":"GT001","applicant":{"kind":"person","name":"𠮷","id_number":"11010519491231002X","phone":"13800000000"}}`,
			`{"region":"999","matter":"NOPE"}`,
		},
		"POST /api/v1/cases/:id/actions/review":       {`{"result":"accept","materials":[{"code":"id_card","received":true,"original":true,"pages":1}]}`, `{"result":"supplement","materials":[],"note":"` + strings.Repeat("缺", 3000) + `"}`},
		"POST /api/v1/cases/:id/actions/escalate":     {`{"level":"city","authority":"淄博市行政审批服务局","tracker":"fz.county","reply_due":"2026-12-31"}`, `{"level":"moon","reply_due":"2026-02-30"}`},
		"POST /api/v1/cases/:id/actions/evaluate":     {`{"rating":5,"comment":"好"}`, `{"rating":6}`, `{"rating":-1e99}`},
		"POST /api/v1/cases/:id/actions/results":      {`{"items":[{"kind":"licence","name":"食品经营许可证","number":"JY1"}]}`, `{"items":[{}]}`},
		"POST /api/v1/cases/:id/actions/terminate":    {`{"reason":"申请人撤回","by":"applicant"}`},
		"POST /api/v1/cases/:id/actions/supervise":    {`{"note":"请加快办理"}`},
		"POST /api/v1/cases/:id/custody":              {`{"material":"id_card","from":"applicant","to":"center","count":1,"note":"交接"}`, `{"material":"","count":-3}`},
		"POST /api/v1/cases/:id/rectification":        {`{"result":"已整改并回访"}`, `{"result":""}`},
		"POST /api/v1/cases/:id/agreement/signatures": {`{"image_png":"iVBORw0KGgo="}`, `{"image_png":"` + strings.Repeat("A", 5000) + `"}`},
		"POST /api/v1/sign/:token":                    {`{"image_png":"","id_last4":"002X"}`},
		"POST /api/v1/login":                          {`{"username":"fz.county","password":"x"}`, `{"username":"` + strings.Repeat("'", 300) + `"}`},
		"POST /api/v1/users":                          {`{"username":"fz.new","role":"village_agent","region":"370323001001","name":"新用户","password":"long-enough-password"}`, `{"username":"a b","role":"root"}`},
		"PATCH /api/v1/users/:username":               {`{"disabled":true}`, `{"role":"admin","region":"370323"}`, `{"password":"short"}`, `{"name":null}`},
		"POST /api/v1/track/:code/evaluation":         {`{"rating":3}`},
	}
	for _, r := range routes {
		f.Add(r.key, []byte(`{}`))
		f.Add(r.key, []byte(`{"note":"说明'; DROP TABLE cases;--"}`))
		for _, s := range seeds[r.key] {
			f.Add(r.key, []byte(s))
		}
	}
	f.Add("POST /nowhere", []byte("\xff\xfe"))

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, key string, body []byte) {
		i := slices.IndexFunc(routes, func(r bodyRoute) bool { return r.key == key })
		if i < 0 {
			h := fnv.New32a()
			h.Write([]byte(key))
			i = int(h.Sum32() % uint32(len(routes)))
		}
		rt := routes[i]
		version := env.Version(t, caseID)
		for n, tok := range tokens {
			req, err := http.NewRequestWithContext(t.Context(), rt.method, env.Server.URL+rt.path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("If-Match", fmt.Sprintf("%q", fmt.Sprint(version)))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s with %q: %d %s", rt.method, rt.path, body, resp.StatusCode, raw)
			}
			var out map[string]any
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatalf("%s %s with %q: %d, not JSON: %q", rt.method, rt.path, body, resp.StatusCode, raw)
				}
			}
			if resp.StatusCode >= 400 {
				e, _ := out["error"].(map[string]any)
				code, _ := e["code"].(string)
				msg, _ := e["message"].(string)
				if code == "" || msg == "" {
					t.Fatalf("%s %s with %q: %d without the error envelope: %s", rt.method, rt.path, body, resp.StatusCode, raw)
				}
			}
			// Refused for the role: try the next one who may call it.
			if resp.StatusCode != http.StatusForbidden || n == len(tokens)-1 {
				return
			}
		}
	})
}
