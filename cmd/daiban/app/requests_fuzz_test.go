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

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/httpapi"
)

// bodyRoute is one API route that reads a request body, with its path
// parameters filled in.
type bodyRoute struct {
	key, method, path string
	form              bool // a page: an HTML form post in a cookie session
	public            bool // a public form: it carries the pre-session token
}

// FuzzRequestBodies sends arbitrary bodies to every route that decodes
// one, on a running service with a real database, as a role allowed to
// call it: the API's JSON (every action, case creation, custody,
// rectification, evaluation, signatures, users, login, notices) and the
// pages' forms (sign-in, intake, the village errand, every action form,
// custody, documents, tracking, ledger verification), the latter in a
// cookie session with its CSRF token. Whatever the body, the answer is
// never a 5xx; the API answers JSON, a refusal in the error envelope with
// a code and a message; a page answers HTML or a redirect.
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
	// The pages' CSRF token of each session.
	csrf := map[string]string{}
	for _, tok := range tokens {
		sess, err := env.App.Users.Authenticate(f.Context(), tok)
		if err != nil {
			f.Fatal(err)
		}
		csrf[tok] = sess.CSRFToken
	}
	// The public forms' pre-session cookie and token, as the sign-in page
	// hands them out.
	formCookie, formToken := publicFormPair(f, env)

	var routes []bodyRoute
	for _, rt := range env.App.HTTP.Routes() {
		if rt.Method == http.MethodGet || rt.Method == http.MethodHead {
			continue
		}
		if rt.Path == "/api/v1/logout" || rt.Path == "/logout" {
			continue // it reads no body, and would end the fuzzer's session
		}
		acts := []string{""}
		if strings.Contains(rt.Path, ":action") {
			acts = cases.Actions
		}
		for _, act := range acts {
			p := strings.ReplaceAll(rt.Path, ":action", act)
			if !strings.Contains(p, "/cases/:id") { // those get a fresh case each time
				p = strings.ReplaceAll(p, ":id", fmt.Sprint(caseID))
			}
			p = strings.ReplaceAll(p, ":username", "fz.victim")
			p = strings.ReplaceAll(p, ":code", "GT001")
			p = strings.ReplaceAll(p, ":token", "fuzz-token-not-issued")
			key := rt.Method + " " + strings.ReplaceAll(rt.Path, ":action", act)
			routes = append(routes, bodyRoute{key: key, method: rt.Method, path: p, form: !strings.HasPrefix(rt.Path, "/api/"), public: rt.Public})
		}
	}
	if len(routes) < 30 {
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
		"POST /intake": {
			"region=370323001001&channel=counter&matter=GT001&kind=person&name=%E5%BC%A0%E4%B8%89&id_number=11010519491231002X&phone=13800000000&summary=%E5%92%A8%E8%AF%A2",
			"region=370323001001&matter=GT001&kind=company&name=%F0%A0%AE%B7&id_number=91350100M000100Y43",
		},
		"POST /village/new":            {"matter=GT001&kind=person&name=%E6%9D%8E%E5%9B%9B&id_number=123&phone=1"},
		"POST /cases/:id/act/review":   {"result=accept&received=id_card&original=id_card&pages=2", "version=x&result=supplement"},
		"POST /cases/:id/act/evaluate": {"rating=5&comment=%E5%A5%BD", "rating=99"},
		"POST /cases/:id/act/escalate": {"level=city&authority=x&tracker=fz.county&reply_due=2026-13-01"},
		"POST /cases/:id/act/results":  {"kind=licence&name=%E8%AE%B8%E5%8F%AF%E8%AF%81&number=X1&kind=&name="},
		"POST /cases/:id/custody":      {"material=id_card&from=applicant&to=center&count=1", "material=id_card&to=department:&count=-1"},
		"POST /login":                  {"username=fz.county&password=wrong&next=//evil.example/", "next=javascript:alert(1)"},
		"POST /track/:code":            {"rating=3&comment=%E5%A5%BD"},
		"POST /supervision/ledger":     {"checkpoint=x", ""},
	}
	for _, r := range routes {
		f.Add(r.key, []byte(`{}`))
		f.Add(r.key, []byte(`{"note":"说明'; DROP TABLE cases;--"}`))
		for _, s := range seeds[r.key] {
			f.Add(r.key, []byte(s))
		}
	}
	for _, r := range routes {
		if r.form {
			f.Add(r.key, []byte("note=%E8%AF%B4%E6%98%8E%27%3B+DROP+TABLE+cases%3B--&version=1"))
			f.Add(r.key, []byte("a=%ZZ&&=&version=99999999999999999999"))
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
		// A fresh case for each input, so one input's actions do not
		// close the case for all the others.
		path, version := rt.path, 0
		if strings.Contains(path, "/cases/:id") {
			var id int64
			id, version = env.CreateCase(t, tokens[0], "370323001001", "SP001")
			path = strings.ReplaceAll(path, ":id", fmt.Sprint(id))
		}
		for n, tok := range tokens {
			send := body
			if rt.form && version > 0 && !bytes.Contains(body, []byte("version=")) {
				// Past the version check, to the form's own fields.
				send = append(fmt.Appendf(nil, "version=%d&", version), body...)
			}
			req, err := http.NewRequestWithContext(t.Context(), rt.method, env.Server.URL+path, bytes.NewReader(send))
			if err != nil {
				t.Fatal(err)
			}
			if rt.form {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Cookie", httpapi.SessionCookie+"="+tok)
				req.Header.Set(httpapi.CSRFHeader, csrf[tok])
				if rt.public {
					req.Header.Set("Cookie", formCookie)
					req.Header.Set(httpapi.CSRFHeader, formToken)
				}
				req.Header.Set("Accept", "text/html")
			} else {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tok)
				if version > 0 {
					req.Header.Set("If-Match", fmt.Sprintf("%q", fmt.Sprint(version)))
				}
			}
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
				t.Fatalf("%s %s with %q: %d %s", rt.method, path, body, resp.StatusCode, raw)
			}
			if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\")) {
				t.Fatalf("%s %s with %q: redirect to %q, not a path of this site", rt.method, path, body, loc)
			}
			if rt.form {
				if resp.StatusCode == http.StatusForbidden && bytes.Contains(raw, []byte("表单已失效")) {
					t.Fatalf("%s %s: the session's CSRF token was refused: %.200s", rt.method, path, raw)
				}
				ct := resp.Header.Get("Content-Type")
				redirect := resp.StatusCode == http.StatusSeeOther || resp.StatusCode == http.StatusFound
				if !redirect && !strings.HasPrefix(ct, "text/html") {
					t.Fatalf("%s %s with %q: %d %s, not a page or a redirect: %.200s", rt.method, path, body, resp.StatusCode, ct, raw)
				}
				if resp.StatusCode != http.StatusForbidden || n == len(tokens)-1 {
					return
				}
				continue
			}
			var out map[string]any
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatalf("%s %s with %q: %d, not JSON: %q", rt.method, path, body, resp.StatusCode, raw)
				}
			}
			if resp.StatusCode >= 400 {
				e, _ := out["error"].(map[string]any)
				code, _ := e["code"].(string)
				msg, _ := e["message"].(string)
				if code == "" || msg == "" {
					t.Fatalf("%s %s with %q: %d without the error envelope: %s", rt.method, path, body, resp.StatusCode, raw)
				}
			}
			// Refused for the role: try the next one who may call it.
			if resp.StatusCode != http.StatusForbidden || n == len(tokens)-1 {
				return
			}
		}
	})
}

// publicFormPair opens the sign-in page and returns the pre-session
// cookie it sets ("name=value") and the form's token.
func publicFormPair(tb testing.TB, env *apptest.Env) (cookie, token string) {
	tb.Helper()
	resp, err := http.Get(env.Server.URL + "/login")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "daiban_form") {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	_, rest, _ := strings.Cut(string(page), `name="csrf_token" value="`)
	token, _, _ = strings.Cut(rest, `"`)
	if cookie == "" || token == "" {
		tb.Fatal("the sign-in page hands out no form cookie or token")
	}
	return cookie, token
}
