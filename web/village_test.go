package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestVillageAppFiles checks, without a browser, what makes the village
// pages an installable app: the manifest and the icons (public, as
// browsers fetch them without cookies), the service worker with a scope
// over /village, and which pages the worker may keep (the agent's open
// errands, the forms) and which not (finished errands, a page showing a
// one-time message).
func TestVillageAppFiles(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "f.cun", "village_agent", "370323001001")
	env.User(t, "f.town", "township_agent", "370323001")
	c := client(t)
	base := env.Server.URL

	m := send(t, c, http.MethodGet, base+"/village/manifest.webmanifest", nil, nil)
	var man struct {
		StartURL string `json:"start_url"`
		Scope    string `json:"scope"`
		Display  string `json:"display"`
		Name     string `json:"name"`
		Icons    []struct{ Src, Sizes string }
	}
	if m.status != http.StatusOK || m.header.Get("Content-Type") != "application/manifest+json" || json.Unmarshal([]byte(m.body), &man) != nil {
		t.Fatalf("manifest: %d %q %s", m.status, m.header.Get("Content-Type"), m.body)
	}
	if man.StartURL != "/village" || man.Scope != "/village" || man.Display != "standalone" || !strings.Contains(man.Name, "村代办员") {
		t.Errorf("manifest: %+v", man)
	}
	for _, ic := range man.Icons {
		a := send(t, c, http.MethodGet, base+ic.Src, nil, nil)
		img, err := png.Decode(bytes.NewReader([]byte(a.body)))
		if err != nil || fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy()) != ic.Sizes {
			t.Errorf("icon %s is not a %s PNG: %v", ic.Src, ic.Sizes, err)
		}
	}
	sw := send(t, c, http.MethodGet, base+"/village/sw.js", nil, nil)
	if sw.status != http.StatusOK || !strings.HasPrefix(sw.header.Get("Content-Type"), "text/javascript") ||
		sw.header.Get("Service-Worker-Allowed") != "/village" || !strings.HasPrefix(sw.body, `const BUILD = "`) {
		t.Errorf("service worker: %d %q %q", sw.status, sw.header.Get("Content-Type"), sw.header.Get("Service-Worker-Allowed"))
	}
	if a := send(t, c, http.MethodGet, base+"/village/session.json", nil, nil); a.status != http.StatusUnauthorized {
		t.Errorf("session signed out: %d", a.status)
	}

	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, base, url.Values{"username": {"f.cun"}, "password": {apptest.Password}}, html)
	done, v := env.CreateCase(t, env.Token(t, "f.cun"), "370323001001", "GT001")
	env.Act(t, env.Token(t, "f.town"), done, v, "terminate", map[string]any{"reason": "申请人不再办理", "by": "applicant"}).Must(t, http.StatusOK)
	open, _ := env.CreateCase(t, env.Token(t, "f.cun"), "370323001001", "GT001")
	list := send(t, c, http.MethodGet, base+"/village", nil, html)
	if list.header.Get("X-Daiban-Offline") != "keep" || list.header.Get("Cache-Control") != "no-store" {
		t.Errorf("/village: offline %q, cache %q", list.header.Get("X-Daiban-Offline"), list.header.Get("Cache-Control"))
	}
	for _, want := range []string{`rel="manifest" href="/village/manifest.webmanifest"`, "/static/village.js", number(t, env, open), "已结束的代办（1 件）"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("/village lacks %q", want)
		}
	}
	if strings.Contains(list.body, number(t, env, done)) {
		t.Error("/village, which the phone keeps, lists a finished errand")
	}
	old := send(t, c, http.MethodGet, base+"/village/done", nil, html)
	if !strings.Contains(old.body, number(t, env, done)) || old.header.Get("X-Daiban-Offline") != "" {
		t.Errorf("/village/done: lists the finished errand %v, kept %q", strings.Contains(old.body, number(t, env, done)), old.header.Get("X-Daiban-Offline"))
	}
	for _, p := range []string{"/village/new", "/village/custody"} {
		if a := send(t, c, http.MethodGet, base+p, nil, html); a.status != http.StatusOK || a.header.Get("X-Daiban-Offline") != "keep" {
			t.Errorf("%s: %d, kept %q", p, a.status, a.header.Get("X-Daiban-Offline"))
		}
	}

	// Without the script the hand-over form posts to the case's custody
	// route, once per form.
	cust := send(t, c, http.MethodGet, base+"/village/custody", nil, html)
	form := between(cust.body, fmt.Sprintf(`action="/cases/%d/custody"`, open), "</form>")
	vals := url.Values{"csrf_token": {between(form, `name="csrf_token" value="`, `"`)}, "idem": {between(form, `name="idem" value="`, `"`)},
		"material": {between(form, `name="material" value="`, `"`)}, "from": {"applicant"}, "to": {"f.cun"}, "count": {"1"}}
	for i := 0; i < 2; i++ {
		if a := send(t, c, http.MethodPost, fmt.Sprintf("%s/cases/%d/custody", base, open), vals, html); a.status != http.StatusSeeOther {
			t.Fatalf("hand-over without the script: %d", a.status)
		}
	}
	var moves int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM custody_moves WHERE case_id = $1`, open).Scan(&moves); err != nil || moves != 1 {
		t.Errorf("%d hand-overs recorded, want 1 (%v)", moves, err)
	}

	// A page with a one-time message is not kept; the worker's own fetch
	// leaves the message for the page the agent opens.
	msg, _ := json.Marshal(map[string]string{"k": "ok", "m": "已登记，办件编号 X。"})
	flashed := map[string]string{"Accept": "text/html", "Cookie": "daiban_flash=" + base64.RawURLEncoding.EncodeToString(msg)}
	if a := send(t, c, http.MethodGet, base+"/village", nil, flashed); a.header.Get("X-Daiban-Offline") != "" || !strings.Contains(a.body, "已登记，办件编号 X。") {
		t.Errorf("/village with a message: kept %q", a.header.Get("X-Daiban-Offline"))
	}
	flashed["X-Daiban-Keep"] = "1"
	if a := send(t, c, http.MethodGet, base+"/village", nil, flashed); a.header.Get("X-Daiban-Offline") != "keep" || strings.Contains(a.body, "已登记，办件编号 X。") ||
		strings.Contains(strings.Join(a.header.Values("Set-Cookie"), ";"), "daiban_flash") {
		t.Errorf("the worker's fetch of /village: kept %q, set-cookie %q", a.header.Get("X-Daiban-Offline"), a.header.Values("Set-Cookie"))
	}
}

// TestVillageOutboxPost: an item of the outbox goes to the API with the
// session cookie and the CSRF token read from /village/session.json at
// sending time; without the token it is refused, and sent twice with its
// key it opens one case.
func TestVillageOutboxPost(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "q.cun", "village_agent", "370323001001")
	c := client(t)
	signIn(t, c, env.Server.URL, url.Values{"username": {"q.cun"}, "password": {apptest.Password}}, nil)
	s := send(t, c, http.MethodGet, env.Server.URL+"/village/session.json", nil, nil)
	var sess struct{ Username, CSRF string }
	if err := json.Unmarshal([]byte(s.body), &sess); err != nil || sess.Username != "q.cun" || sess.CSRF == "" {
		t.Fatalf("session: %d %s", s.status, s.body)
	}
	body, _ := json.Marshal(map[string]any{"region": "370323001001", "channel": "village", "matter": "GT001", "applicant": apptest.Person(t, 30)})
	post := func(token string) answer {
		req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/api/v1/cases", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "0b6f6c3e-2f1d-4c39-9d1e-7c1c5d2f9a10")
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return answer{status: resp.StatusCode, body: b.String()}
	}
	if a := post(""); a.status != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", a.status)
	}
	first, again := post(sess.CSRF), post(sess.CSRF)
	if first.status != http.StatusCreated || again.status != http.StatusCreated || first.body != again.body {
		t.Errorf("sent twice: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), `SELECT count(*) FROM cases WHERE created_by = 'q.cun'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cases opened, want 1 (%v)", n, err)
	}
}
