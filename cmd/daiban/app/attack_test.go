package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/sql/migrations"
)

// attacker sends raw requests (redirects not followed), counts them and
// records every 5xx. It outlives the sub-tests; each send reports to the
// sub-test it runs in.
type attacker struct {
	base   string
	client *http.Client
	total  int
	fives  []string
	status map[string]map[int]int // phase -> status -> count
}

type attackResp struct {
	status int
	header http.Header
	body   []byte
}

func snippet(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func (a *attacker) send(t *testing.T, phase, method, path string, body []byte, headers map[string]string) (attackResp, bool) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, snippet([]byte(path), 120), err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	a.total++
	resp, err := a.client.Do(req)
	if err != nil {
		t.Errorf("[%s] %s %s: transport error %v", phase, method, snippet([]byte(path), 120), err)
		return attackResp{}, false
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if a.status[phase] == nil {
		a.status[phase] = map[int]int{}
	}
	a.status[phase][resp.StatusCode]++
	if resp.StatusCode >= 500 {
		a.fives = append(a.fives, fmt.Sprintf("[%s] %s %s body=%q -> %d %s", phase, method, snippet([]byte(path), 160), snippet(body, 160), resp.StatusCode, snippet(data, 300)))
	}
	return attackResp{resp.StatusCode, resp.Header, data}, true
}

type target struct {
	method, path, route string
	public              bool
}

// attackPayloads are the injection and long-string probes.
var attackPayloads = []string{
	`'; DROP TABLE cases; --`,
	`" OR 1=1 --`,
	`%_\\`,
	`\' OR '1'='1`,
	strings.Repeat("a", 100000),
	strings.Repeat("办", 30000),
	"😀👨‍👩‍👧𠀀𠮷𪚥 " + strings.Repeat("𠀀😀", 2000),
	`{"$ne":null}`,
	"../../etc/passwd",
}

func attackJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attackAuth(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func attackBody(method string) []byte {
	if method == http.MethodGet || method == http.MethodHead {
		return nil
	}
	return []byte("{}")
}

func attackUnsafe(m string) bool {
	return m == http.MethodPost || m == http.MethodPatch || m == http.MethodPut || m == http.MethodDelete
}

// attackTargets is every registered route with plausible parameters.
func attackTargets(env *apptest.Env, caseID, docID int64) []target {
	var targets []target
	for _, rt := range env.App.HTTP.Routes() {
		acts := []string{""}
		if strings.Contains(rt.Path, ":action") {
			acts = cases.Actions
		}
		for _, act := range acts {
			p := strings.ReplaceAll(rt.Path, ":action", act)
			p = strings.ReplaceAll(p, ":username", "x.county")
			p = strings.ReplaceAll(p, ":code", "GT001")
			p = strings.ReplaceAll(p, ":token", "not-a-real-token")
			p = strings.ReplaceAll(p, ":key", "not-a-real-key")
			p = strings.ReplaceAll(p, "*", "app.css")
			switch {
			case strings.HasPrefix(p, "/api/v1/documents/"):
				p = strings.ReplaceAll(p, ":id", fmt.Sprint(docID))
			case strings.HasPrefix(p, "/api/v1/notices/"):
				p = strings.ReplaceAll(p, ":id", "1")
			default:
				p = strings.ReplaceAll(p, ":id", fmt.Sprint(caseID))
			}
			targets = append(targets, target{rt.Method, p, rt.Path, rt.Public})
		}
	}
	return targets
}

// attackActionBodies is a valid-looking body for every action, each string
// field "x".
func attackActionBodies() map[string]map[string]any {
	str := func(fields ...string) map[string]any {
		m := map[string]any{}
		for _, f := range fields {
			m[f] = "x"
		}
		return m
	}
	mats := func() []any {
		return []any{map[string]any{"code": "x", "received": true, "original": false, "pages": 1}}
	}
	actionBodies := map[string]map[string]any{}
	for _, act := range []string{"guide", "accompany", "complete", "supervise"} {
		actionBodies[act] = str("note")
	}
	actionBodies["review"] = map[string]any{"result": "accept", "note": "x", "materials": mats()}
	actionBodies["supply"] = map[string]any{"note": "x", "materials": mats()}
	actionBodies["assign"] = str("agent", "note")
	actionBodies["progress"] = map[string]any{"note": "x", "step": "x", "notify_applicant": false}
	actionBodies["escalate"] = str("level", "authority", "tracker", "reply_due", "note")
	actionBodies["reply"] = str("outcome", "note")
	actionBodies["suspend"] = str("reason")
	actionBodies["resume"] = str("reason")
	actionBodies["results"] = map[string]any{"note": "x", "items": []any{map[string]any{"kind": "x", "name": "x", "number": "x"}}}
	actionBodies["terminate"] = str("reason", "by")
	actionBodies["evaluate"] = map[string]any{"rating": 5, "comment": "x"}
	for _, act := range cases.Actions {
		if _, ok := actionBodies[act]; !ok {
			actionBodies[act] = str("note")
		}
	}
	return actionBodies
}

// attackLeaf is one string leaf of a body, with its setter.
type attackLeaf struct {
	name string
	set  func(m map[string]any, v string)
}

// attackLeaves lists the string leaves of a body as setter functions.
func attackLeaves(tmpl map[string]any) []attackLeaf {
	var out []attackLeaf
	for k, v := range tmpl {
		k := k
		switch vv := v.(type) {
		case string:
			out = append(out, attackLeaf{k, func(m map[string]any, s string) { m[k] = s }})
		case []any:
			for ik, iv := range vv[0].(map[string]any) {
				ik := ik
				if _, ok := iv.(string); ok {
					out = append(out, attackLeaf{k + "[0]." + ik, func(m map[string]any, s string) {
						m[k].([]any)[0].(map[string]any)[ik] = s
					}})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func attackClone(t *testing.T, m map[string]any) map[string]any {
	var c map[string]any
	_ = json.Unmarshal(attackJSON(t, m), &c)
	return c
}

// attackStep runs f as the sub-test name and reports whether it ran to its
// end: a step stopped by t.Fatal ends the scenario, as the t.Fatal did
// before the steps were sub-tests, while one that only reported errors
// (t.Error) lets the later steps run.
func attackStep(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	completed := false
	t.Run(name, func(t *testing.T) {
		f(t)
		completed = true
	})
	return completed
}

// TestAttackMatrix probes every route with bad sessions, missing CSRF
// tokens, oversized bodies and injected strings, one sub-test per step.
// Any 5xx anywhere fails the last step.
func TestAttackMatrix(t *testing.T) {
	start := time.Now()
	env := apptest.New(t)
	ctx := t.Context()
	a := &attacker{base: env.Server.URL, status: map[string]map[int]int{},
		client: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()

	var (
		county, super, cookieTok, expTok, revTok string
		caseID, docID                            int64
		targets                                  []target
		ids                                      []string // the demo people's full ID numbers
		created                                  []int64
		denied                                   int
	)
	forged := "forged-" + strings.Repeat("Zq9", 14)
	if !attackStep(t, "users and a case", func(t *testing.T) {
		env.User(t, "x.county", "county_agent", "370323")
		env.User(t, "x.super", "supervisor", "370323001")
		env.User(t, "x.exp", "county_agent", "370323")
		env.User(t, "x.rev", "county_agent", "370323")
		env.User(t, "x.cookie", "county_agent", "370323")
		county = env.Token(t, "x.county")
		super = env.Token(t, "x.super")
		cookieTok = env.Token(t, "x.cookie")

		caseID, _ = env.CreateCase(t, county, "370323001001", "GT001")
		docR := env.Do(t, county, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", caseID), nil, nil).Must(t, 201)
		docID = int64(docR.JSON["document_id"].(float64))
		people, err := demo.People()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range people {
			if len(p.IDNumber) >= 15 {
				ids = append(ids, p.IDNumber)
			}
		}
	}) {
		return
	}
	if !attackStep(t, "expired and revoked sessions", func(t *testing.T) {
		expTok = env.Token(t, "x.exp")
		if _, err := owner.Exec(ctx, "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE user_id = (SELECT id FROM users WHERE username = 'x.exp')"); err != nil {
			t.Fatal(err)
		}
		revTok = env.Token(t, "x.rev")
		if r := env.Do(t, revTok, http.MethodPost, "/api/v1/logout", nil, nil); r.Status/100 != 2 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
	}) {
		return
	}
	if !attackStep(t, "targets from every route", func(t *testing.T) {
		targets = attackTargets(env, caseID, docID)
		if len(targets) < 40 {
			t.Fatalf("only %d targets", len(targets))
		}
	}) {
		return
	}

	if !attackStep(t, "bad tokens refused", func(t *testing.T) {
		bad := map[string]string{"forged": forged, "expired": expTok, "revoked": revTok}
		for _, name := range []string{"forged", "expired", "revoked"} {
			tok := bad[name]
			for _, tg := range targets {
				r, ok := a.send(t, "badtoken", tg.method, tg.path, attackBody(tg.method), map[string]string{"Authorization": "Bearer " + tok, "If-Match": `"1"`})
				if !ok || tg.public {
					continue
				}
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s token %s %s: %d %s, want 401", name, tg.method, tg.path, r.status, snippet(r.body, 200))
				}
				// The same as a cookie session.
				r, ok = a.send(t, "badtoken", tg.method, tg.path, attackBody(tg.method), map[string]string{"Cookie": "daiban_session=" + tok, "If-Match": `"1"`})
				if ok && r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
					t.Errorf("%s cookie %s %s: %d %s, want 401", name, tg.method, tg.path, r.status, snippet(r.body, 200))
				}
				// HTML page GETs may redirect to the sign-in page instead.
				if tg.method == http.MethodGet && !strings.HasPrefix(tg.path, "/api/") {
					r, ok = a.send(t, "badtoken", tg.method, tg.path, nil, map[string]string{"Cookie": "daiban_session=" + tok, "Accept": "text/html"})
					if ok && r.status != http.StatusUnauthorized && !(r.status == http.StatusSeeOther && strings.HasPrefix(r.header.Get("Location"), "/login")) {
						t.Errorf("%s html %s %s: %d (Location %q), want 401 or 303 to /login", name, tg.method, tg.path, r.status, r.header.Get("Location"))
					}
				}
			}
		}
	}) {
		return
	}

	if !attackStep(t, "writes without CSRF token refused", func(t *testing.T) {
		// A valid cookie session without (or with a wrong) CSRF token.
		for _, tg := range targets {
			if tg.public || !attackUnsafe(tg.method) {
				continue
			}
			for _, extra := range []map[string]string{
				{},
				{"X-CSRF-Token": "wrong-csrf"},
				{"Sec-Fetch-Site": "cross-site"},
			} {
				h := map[string]string{"Cookie": "daiban_session=" + cookieTok, "If-Match": `"1"`}
				for k, v := range extra {
					h[k] = v
				}
				r, ok := a.send(t, "csrf", tg.method, tg.path, attackBody(tg.method), h)
				if ok && r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
					t.Errorf("csrf %v %s %s: %d %s, want 403", extra, tg.method, tg.path, r.status, snippet(r.body, 200))
				}
			}
		}
		// The cookie session itself still works (the refusals did not end it).
		if r, ok := a.send(t, "csrf", http.MethodGet, "/api/v1/me", nil, map[string]string{"Cookie": "daiban_session=" + cookieTok}); ok && r.status != 200 {
			t.Errorf("cookie session after CSRF probes: %d", r.status)
		}
	}) {
		return
	}

	if !attackStep(t, "oversized bodies refused", func(t *testing.T) {
		// As a county agent.
		bodyless := map[string]bool{"/api/v1/cases/:id/notice": true, "/cases/:id/notice": true, "/notices/read": true, "/notices/:id/read": true}
		big := []byte(`{"note":"` + strings.Repeat("x", 2<<20) + `"}`)
		for _, tg := range targets {
			if tg.method != http.MethodPost && tg.method != http.MethodPatch {
				continue
			}
			tok := county
			if strings.HasSuffix(tg.route, "/logout") {
				tok = env.Token(t, "x.exp") // already expired: a logout must not end the county session
			}
			r, ok := a.send(t, "oversize", tg.method, tg.path, big, map[string]string{"Authorization": "Bearer " + tok, "If-Match": `"1"`})
			if bodyless[tg.route] {
				// These handlers take no body and never read it: the server
				// discards it and the request succeeds. Only 5xx counts here.
				t.Logf("oversize %s %s (takes no body): %d", tg.method, tg.path, r.status)
				continue
			}
			if ok && (r.status < 400 || r.status >= 500) {
				t.Errorf("oversize %s %s: %d %s, want 4xx", tg.method, tg.path, r.status, snippet(r.body, 200))
			}
		}
	}) {
		return
	}
	if !attackStep(t, "server answers after oversized bodies", func(t *testing.T) {
		if r, ok := a.send(t, "oversize", http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + county}); !ok || r.status != 200 {
			t.Fatalf("server not answering after oversized bodies: %d", r.status)
		}
	}) {
		return
	}

	// Injection and long strings in the case endpoints.
	checkNoID := func(t *testing.T, what string, body []byte) {
		t.Helper()
		for _, id := range ids {
			if bytes.Contains(body, []byte(id)) {
				t.Errorf("%s: supervisor sees full ID number %s", what, id[:4]+"…")
			}
		}
	}
	if !attackStep(t, "injection in case creation", func(t *testing.T) {
		// Every string field.
		base := func() map[string]any {
			return map[string]any{"region": "370323001001", "channel": "counter", "matter": "GT001", "summary": "攻击测试",
				"applicant": map[string]any{"kind": "person", "name": apptest.Person(t, 1)["name"], "id_number": apptest.Person(t, 1)["id_number"], "phone": apptest.Person(t, 1)["phone"]}}
		}
		for _, f := range []string{"region", "channel", "matter", "summary", "applicant.kind", "applicant.name", "applicant.id_number", "applicant.phone"} {
			for _, pl := range attackPayloads {
				b := base()
				if k, ok := strings.CutPrefix(f, "applicant."); ok {
					b["applicant"].(map[string]any)[k] = pl
				} else {
					b[f] = pl
				}
				r, ok := a.send(t, "inject", http.MethodPost, "/api/v1/cases", attackJSON(t, b), attackAuth(county))
				if ok && r.status == http.StatusCreated {
					var v struct{ ID int64 }
					_ = json.Unmarshal(r.body, &v)
					created = append(created, v.ID)
				}
			}
		}
	}) {
		return
	}
	if !attackStep(t, "injection in action bodies", func(t *testing.T) {
		// Every string field of every action.
		actionBodies := attackActionBodies()
		for _, act := range cases.Actions {
			tmpl := actionBodies[act]
			for _, lf := range attackLeaves(tmpl) {
				for _, pl := range attackPayloads {
					b := attackClone(t, tmpl)
					lf.set(b, pl)
					tok := county
					if act == "supervise" {
						tok = super
					}
					h := attackAuth(tok)
					h["If-Match"] = fmt.Sprintf("%q", fmt.Sprint(env.Version(t, caseID)))
					r, _ := a.send(t, "inject", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/%s", caseID, act), attackJSON(t, b), h)
					if tok == super {
						checkNoID(t, "supervise "+lf.name, r.body)
					}
				}
			}
		}
	}) {
		return
	}
	if !attackStep(t, "injection in custody", func(t *testing.T) {
		custody := map[string]any{"material": "x", "from": "x", "to": "x", "count": 1, "note": "x"}
		for _, lf := range attackLeaves(custody) {
			for _, pl := range attackPayloads {
				b := attackClone(t, custody)
				lf.set(b, pl)
				a.send(t, "inject", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", caseID), attackJSON(t, b), attackAuth(county))
			}
		}
	}) {
		return
	}
	if !attackStep(t, "injection in list queries", func(t *testing.T) {
		// As an agent and as a supervisor.
		for _, q := range []string{"q", "state", "region", "matter", "handler", "cursor"} {
			for _, pl := range attackPayloads {
				if r := []rune(pl); len(r) > 16000 {
					pl = string(r[:16000]) // rune-safe; stay under the server's header limit
				}
				path := "/api/v1/cases?" + url.Values{q: {pl}}.Encode()
				a.send(t, "inject", http.MethodGet, path, nil, attackAuth(county))
				r, _ := a.send(t, "inject", http.MethodGet, path, nil, attackAuth(super))
				checkNoID(t, "supervisor list "+q, r.body)
			}
			// Invalid UTF-8 (a percent-encoded lone byte) must be a 422, not a 500.
			a.send(t, "inject", http.MethodGet, "/api/v1/cases?"+q+"=%FF%FE", nil, attackAuth(county))
		}
	}) {
		return
	}
	if !attackStep(t, "supervisor sees ID numbers masked", func(t *testing.T) {
		// Every case opened above.
		for _, id := range append(created, caseID) {
			r, _ := a.send(t, "inject", http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, attackAuth(super))
			checkNoID(t, fmt.Sprintf("supervisor case %d", id), r.body)
		}
		r, _ := a.send(t, "inject", http.MethodGet, "/api/v1/cases", nil, attackAuth(super))
		checkNoID(t, "supervisor list", r.body)
	}) {
		return
	}
	if !attackStep(t, "cases table intact", func(t *testing.T) {
		var reg *string
		if err := owner.QueryRow(ctx, "SELECT to_regclass('public.cases')::text").Scan(&reg); err != nil || reg == nil {
			t.Fatalf("cases table gone: %v", err)
		}
		var n int
		if err := owner.QueryRow(ctx, "SELECT count(*) FROM cases").Scan(&n); err != nil || n < 1 {
			t.Fatalf("cases table: %d rows, %v", n, err)
		}
	}) {
		return
	}

	var logs string
	if !attackStep(t, "logs hold refusals and no secrets", func(t *testing.T) {
		// Refusals logged; no tokens, no full ID numbers.
		time.Sleep(100 * time.Millisecond)
		logs = env.Logs.String()
		denied = strings.Count(logs, `"msg":"request denied"`)
		if denied == 0 {
			t.Errorf("no \"request denied\" log entries")
		}
		for name, tok := range map[string]string{"forged": forged, "expired": expTok, "revoked": revTok, "county": county, "supervisor": super, "cookie": cookieTok} {
			if strings.Contains(logs, tok) {
				t.Errorf("logs contain the %s token", name)
			}
		}
		for _, id := range ids {
			if strings.Contains(logs, id) {
				t.Errorf("logs contain full ID number %s…", id[:4])
			}
		}
	}) {
		return
	}

	// The findings of the security review, each re-run as the attacker ran
	// it (attack_*_test.go register them).
	run := &attackRun{env: env, a: a, owner: owner, county: county, super: super, caseID: caseID, docID: docID}
	for _, f := range sortedFindings() {
		attackStep(t, "finding: "+f.name, func(t *testing.T) { f.run(t, run) })
	}

	if !attackStep(t, "no 5xx anywhere", func(t *testing.T) {
		for _, f := range a.fives {
			t.Errorf("5xx: %s", f)
		}
		if len(a.fives) > 0 {
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, `"level":"ERROR"`) {
					t.Logf("server error log: %s", snippet([]byte(line), 400))
				}
			}
		}
	}) {
		return
	}
	phases := make([]string, 0, len(a.status))
	for p := range a.status {
		phases = append(phases, p)
	}
	sort.Strings(phases)
	for _, p := range phases {
		t.Logf("phase %s: statuses %v", p, a.status[p])
	}
	t.Logf("attack matrix: %d requests, %d targets, %d 5xx, %d denial log entries, %d cases created, %s",
		a.total, len(targets), len(a.fives), denied, len(created), time.Since(start).Round(time.Millisecond))
}

// attackRun is what a finding's re-run gets: the running server, the
// attacker (whose 5xx count the last step checks), the owner's pool and a
// county agent's token with a case and a document in the demo county.
type attackRun struct {
	env           *apptest.Env
	a             *attacker
	owner         *pgxpool.Pool
	county, super string
	caseID, docID int64
}

// finding is one re-run of the security review; the files attack_*_test.go
// add theirs in init, so TestAttackMatrix grows with every item.
type finding struct {
	name string
	run  func(t *testing.T, r *attackRun)
}

var findings []finding

func addFinding(name string, run func(t *testing.T, r *attackRun)) {
	findings = append(findings, finding{name: name, run: run})
}

func sortedFindings() []finding {
	out := append([]finding(nil), findings...)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
