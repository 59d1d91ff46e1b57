package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/httpapi"
)

// The re-runs of finding 4 (open redirect after sign-in) and of the items
// of finding 9 that concern the site's edges: login CSRF, cache and
// sniffing headers, /metrics, /static/ listings, staff notes on the public
// tracking page, unbounded notice sealing, custody to strangers.

func init() {
	addFinding("4 open redirect after sign-in", findingOpenRedirect)
	addFinding("9a login CSRF from a same-site page", findingLoginCSRF)
	addFinding("9b no-store and nosniff on API answers and documents", findingCacheHeaders)
	addFinding("9c /metrics public", findingMetrics)
	addFinding("9d /static/ lists its files", findingStaticListing)
	addFinding("9e staff notes on the tracking page", findingTrackingNotes)
	addFinding("9f notices sealed without limit", findingNoticeFlood)
	addFinding("9g custody to anyone of the county", findingCustody)
}

// redirectTricks are next= and back= values a browser would follow to
// another host.
var redirectTricks = []string{
	"/\t/other.host/x", // the finding
	"/\n/other.host/x", "/\r/other.host/x", "/\x00/other.host/x",
	"//other.host/x", "///other.host/x", `/\other.host/x`, `/\/other.host/x`, `\\other.host\x`,
	"/%09/other.host/x", "/%2f%2fother.host/x", "/%5cother.host/x",
	"https://other.host/x", "http:other.host", "javascript:alert(1)",
}

func formHeaders(cookie string, extra map[string]string) map[string]string {
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
	if cookie != "" {
		h["Cookie"] = cookie
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// publicFormOf opens a public form page as a browser would and returns
// the cookie it set ("name=value") and the form's hidden token.
func publicFormOf(t *testing.T, r *attackRun, path string) (cookie, token string) {
	t.Helper()
	page, ok := r.a.send(t, "edges", http.MethodGet, path, nil, map[string]string{"Accept": "text/html"})
	if !ok {
		t.FailNow()
	}
	for _, ck := range (&http.Response{Header: page.header}).Cookies() {
		if strings.HasSuffix(ck.Name, "daiban_form") {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	_, rest, _ := strings.Cut(string(page.body), `name="csrf_token" value="`)
	token, _, _ = strings.Cut(rest, `"`)
	if cookie == "" || token == "" {
		t.Fatalf("GET %s: no form cookie (%q) or token", path, page.header.Values("Set-Cookie"))
	}
	return cookie, token
}

func findingOpenRedirect(t *testing.T, r *attackRun) {
	r.env.User(t, "x.redirect", "county_agent", "370323")
	for _, next := range redirectTricks {
		page, _ := r.a.send(t, "edges", http.MethodGet, "/login?next="+url.QueryEscape(next), nil, map[string]string{"Accept": "text/html"})
		if strings.Contains(string(page.body), "other.host") {
			t.Errorf("sign-in page keeps next=%q", next)
		}
		cookie, tok := publicFormOf(t, r, "/login")
		form := url.Values{"username": {"x.redirect"}, "password": {apptest.Password}, "csrf_token": {tok}, "next": {next}}
		resp, _ := r.a.send(t, "edges", http.MethodPost, "/login", []byte(form.Encode()), formHeaders(cookie, nil))
		// Either the trick is ignored (303 to the desk) or the request is
		// refused outright as unreadable input (422, no Location at all).
		if loc := resp.header.Get("Location"); !(resp.status == http.StatusSeeOther && loc == "/desk") && !(resp.status == http.StatusUnprocessableEntity && loc == "") {
			t.Errorf("sign-in with next=%q: %d → %q, want 303 → /desk or a 422", next, resp.status, loc)
		}
	}
	// back= after a form on the case page, as the supervisor's 督办 note.
	cookie := "daiban_session=" + r.super
	page, _ := r.a.send(t, "edges", http.MethodGet, fmt.Sprintf("/cases/%d", r.caseID), nil, map[string]string{"Cookie": cookie, "Accept": "text/html"})
	_, rest, _ := strings.Cut(string(page.body), `name="csrf_token" value="`)
	csrf, _, _ := strings.Cut(rest, `"`)
	for _, back := range redirectTricks {
		form := url.Values{"csrf_token": {csrf}, "note": {"请加快办理"}, "back": {back}}
		resp, _ := r.a.send(t, "edges", http.MethodPost, fmt.Sprintf("/cases/%d/act/supervise", r.caseID), []byte(form.Encode()), formHeaders(cookie, nil))
		if loc := resp.header.Get("Location"); !(resp.status == http.StatusSeeOther && loc == fmt.Sprintf("/cases/%d", r.caseID)) && !(resp.status == http.StatusUnprocessableEntity && loc == "") {
			t.Errorf("督办 with back=%q: %d → %q, want 303 → the case or a 422", back, resp.status, loc)
		}
	}
}

func findingLoginCSRF(t *testing.T, r *attackRun) {
	r.env.User(t, "x.csrf", "county_agent", "370323")
	host := strings.TrimPrefix(r.env.Server.URL, "http://")
	sameSite := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://evil." + host}
	creds := url.Values{"username": {"x.csrf"}, "password": {apptest.Password}}
	refused := func(what string, resp attackResp) {
		t.Helper()
		if resp.status != http.StatusForbidden || !strings.Contains(string(resp.body), "表单已失效，请刷新页面后重试") {
			t.Errorf("%s: %d %s, want 403 saying the form is stale", what, resp.status, snippet(resp.body, 200))
		}
		for _, ck := range resp.header.Values("Set-Cookie") {
			if strings.HasPrefix(ck, httpapi.SessionCookie+"=") {
				t.Errorf("%s: signed the browser in (%s)", what, ck)
			}
		}
	}
	// The attacker's same-site page posts the sign-in form: no token.
	resp, _ := r.a.send(t, "edges", http.MethodPost, "/login", []byte(creds.Encode()), formHeaders("", sameSite))
	refused("sign-in from a same-site page", resp)
	// Nor without any Origin or Sec-Fetch-Site (an older browser).
	resp, _ = r.a.send(t, "edges", http.MethodPost, "/login", []byte(creds.Encode()), formHeaders("", nil))
	refused("sign-in without a token", resp)
	// The attacker's own token, fetched beforehand, is no good in the
	// victim's browser, which lacks the attacker's cookie.
	_, tok := publicFormOf(t, r, "/login")
	withTok := url.Values{"username": {"x.csrf"}, "password": {apptest.Password}, "csrf_token": {tok}}
	resp, _ = r.a.send(t, "edges", http.MethodPost, "/login", []byte(withTok.Encode()), formHeaders("", sameSite))
	refused("sign-in with the attacker's token", resp)
	// Even with the pair (a cookie planted somehow), a foreign Origin fails.
	cookie, tok := publicFormOf(t, r, "/login")
	withTok.Set("csrf_token", tok)
	resp, _ = r.a.send(t, "edges", http.MethodPost, "/login", []byte(withTok.Encode()), formHeaders(cookie, sameSite))
	refused("sign-in from another origin", resp)
	// The rating on the tracking page alike.
	code := trackingCode(t, r, r.caseID)
	resp, _ = r.a.send(t, "edges", http.MethodPost, "/track/"+code, []byte("rating=1&comment=x"), formHeaders("", sameSite))
	if resp.status != http.StatusForbidden || !strings.Contains(string(resp.body), "表单已失效") {
		t.Errorf("rating from a same-site page: %d %s", resp.status, snippet(resp.body, 200))
	}
	// The site's own form still signs in.
	resp, _ = r.a.send(t, "edges", http.MethodPost, "/login", []byte(withTok.Encode()), formHeaders(cookie, map[string]string{"Origin": r.env.Server.URL, "Sec-Fetch-Site": "same-origin"}))
	if resp.status != http.StatusSeeOther || !strings.Contains(strings.Join(resp.header.Values("Set-Cookie"), ";"), httpapi.SessionCookie+"=") {
		t.Errorf("sign-in from the site's form: %d %s", resp.status, snippet(resp.body, 200))
	}
}

func trackingCode(t *testing.T, r *attackRun, id int64) string {
	t.Helper()
	c := r.env.Do(t, r.county, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, http.StatusOK)
	return c.JSON["tracking_code"].(string)
}

func findingCacheHeaders(t *testing.T, r *attackRun) {
	for _, tc := range []struct{ path, token string }{
		{fmt.Sprintf("/api/v1/cases/%d", r.caseID), r.county},
		{"/api/v1/cases", r.county},
		{fmt.Sprintf("/api/v1/documents/%d", r.docID), r.county},
		{"/api/v1/ledger/export.csv", r.super},
		{"/api/v1/reports/monthly.pdf?month=2025-03", r.super},
		{"/api/v1/certificate", ""},
		{"/api/v1/cases/999999999", r.county},
		{"/api/v1/no-such-route", ""},
		{fmt.Sprintf("/cases/%d", r.caseID), r.county},
		{"/login", ""},
	} {
		h := map[string]string{}
		if tc.token != "" {
			h["Authorization"] = "Bearer " + tc.token
		}
		resp, ok := r.a.send(t, "edges", http.MethodGet, tc.path, nil, h)
		if !ok {
			continue
		}
		if cc := resp.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("GET %s (%d %s): Cache-Control %q", tc.path, resp.status, resp.header.Get("Content-Type"), cc)
		}
		if resp.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s (%d %s): no nosniff", tc.path, resp.status, resp.header.Get("Content-Type"))
		}
	}
}

func findingMetrics(t *testing.T, r *attackRun) {
	// The test server listens on the loopback, which may read them.
	if resp, _ := r.a.send(t, "edges", http.MethodGet, "/metrics", nil, nil); resp.status != http.StatusOK {
		t.Errorf("/metrics from the loopback: %d", resp.status)
	}
	// The same server, asked from another address: no such page, whatever
	// the headers claim (no proxy is trusted).
	for _, h := range []map[string]string{nil, {"X-Forwarded-For": "127.0.0.1"}, {"X-Real-IP": "127.0.0.1"}} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = "203.0.113.9:40000"
		for k, v := range h {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		r.env.App.HTTP.Echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "daiban_http") {
			t.Errorf("/metrics from 203.0.113.9 (%v): %d", h, rec.Code)
		}
	}
	allow, err := httpapi.ParseAllowList("10.0.0.5,192.168.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"127.0.0.1": true, "::1": true, "10.0.0.5": true, "192.168.1.77": true, "10.0.0.6": false, "203.0.113.9": false, "": false} {
		if httpapi.Allowed(ip, allow) != want {
			t.Errorf("Allowed(%q) = %v", ip, !want)
		}
	}
}

func findingStaticListing(t *testing.T, r *attackRun) {
	for _, p := range []string{"/static/", "/static/./", "/static/%2e/"} {
		resp, _ := r.a.send(t, "edges", http.MethodGet, p, nil, nil)
		if resp.status != http.StatusNotFound || strings.Contains(string(resp.body), "style.css") {
			t.Errorf("GET %s: %d %s", p, resp.status, snippet(resp.body, 200))
		}
	}
	if resp, _ := r.a.send(t, "edges", http.MethodGet, "/static/style.css", nil, nil); resp.status != http.StatusOK {
		t.Errorf("GET /static/style.css: %d", resp.status)
	}
}

func findingTrackingNotes(t *testing.T, r *attackRun) {
	const marker = "内部备注MARK9e"
	id := r.env.Delegate(t, "x.county", "370323001001", "GT001")
	act := func(tok, action string, body map[string]any) {
		t.Helper()
		r.env.Act(t, tok, id, r.env.Version(t, id), action, body).Must(t, http.StatusOK)
	}
	act(r.county, "suspend", map[string]any{"reason": marker + "：申请人家属住院"})
	act(r.county, "resume", map[string]any{"reason": marker + "：已联系上"})
	act(r.county, "progress", map[string]any{"note": marker + "：科长说先放放", "step": "内部"})
	act(r.county, "escalate", map[string]any{"level": "city", "authority": "市行政审批服务局", "tracker": "x.county", "reply_due": "2099-12-31", "note": marker})
	act(r.county, "reply", map[string]any{"outcome": "approved", "note": marker + "：领导批示"})
	act(r.super, "supervise", map[string]any{"note": marker + "：督办"})
	act(r.county, "progress", map[string]any{"note": "已送达审批局", "step": "报送", "notify_applicant": true})
	code := trackingCode(t, r, id)
	api, _ := r.a.send(t, "edges", http.MethodGet, "/api/v1/track/"+code, nil, nil)
	page, _ := r.a.send(t, "edges", http.MethodGet, "/track/"+code, nil, map[string]string{"Accept": "text/html"})
	for what, resp := range map[string]attackResp{"API": api, "page": page} {
		body := string(resp.body)
		if resp.status != http.StatusOK {
			t.Fatalf("tracking %s: %d", what, resp.status)
		}
		if strings.Contains(body, "MARK9e") {
			t.Errorf("tracking %s shows a staff note: %s", what, snippet(resp.body, 2000))
		}
		for _, want := range []string{"案件暂停办理", "案件恢复办理", "上级已批准", "已送达审批局"} {
			if !strings.Contains(body, want) {
				t.Errorf("tracking %s lacks %q", what, want)
			}
		}
	}
}

func findingNoticeFlood(t *testing.T, r *attackRun) {
	r.env.User(t, "x.notice", "county_agent", "370323")
	tok := r.env.Token(t, "x.notice")
	id, _ := r.env.CreateCase(t, tok, "370323001001", "GT001")
	path := fmt.Sprintf("/api/v1/cases/%d/notice", id)
	// 40 at once for one case, as the review did: one notice.
	var wg sync.WaitGroup
	var mu sync.Mutex
	docs, statuses := map[float64]bool{}, map[int]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := r.env.Do(t, tok, http.MethodPost, path, nil, nil)
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.Status]++
			if id, ok := resp.JSON["document_id"].(float64); ok {
				docs[id] = true
			}
		}()
	}
	wg.Wait()
	var sealed int
	if err := r.owner.QueryRow(t.Context(), "SELECT count(*) FROM documents WHERE case_id = $1 AND kind = 'notice' AND status = 'sealed'", id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed != 1 || len(docs) != 1 || statuses[http.StatusCreated]+statuses[http.StatusTooManyRequests] != 40 {
		t.Errorf("40 notices at once for one case: %d sealed, %d distinct documents, statuses %v; want 1, 1, each 201 or 429", sealed, len(docs), statuses)
	}
	// Asked again once the flood is over: the same notice, not a new one.
	if again := r.env.Do(t, tok, http.MethodPost, path, nil, nil).Must(t, http.StatusCreated); !docs[again.JSON["document_id"].(float64)] {
		t.Errorf("the notice asked again is another document: %v", again.JSON["document_id"])
	}
	// One notice per case for 15 cases in a row: the per-user bound.
	refused := 0
	for i := 0; i < 15; i++ {
		cid, _ := r.env.CreateCase(t, tok, "370323001001", "GT001")
		resp := r.env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", cid), nil, nil)
		switch resp.Status {
		case http.StatusCreated:
		case http.StatusTooManyRequests:
			refused++
			if !strings.Contains(string(resp.Body), "一分钟内最多") {
				t.Errorf("refusal says %s", resp.Body)
			}
		default:
			t.Errorf("notice %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	if refused != 6 { // 1 + 9 allowed in the minute, 6 refused
		t.Errorf("%d of 15 further notices refused, want 6", refused)
	}
	t.Logf("notice flood: 40 concurrent for one case → %d sealed, statuses %v; 15 cases in a row → %d refused", sealed, statuses, refused)
}

func findingCustody(t *testing.T, r *attackRun) {
	r.env.User(t, "x.far", "township_agent", "370323101")        // another township
	r.env.User(t, "x.village2", "village_agent", "370323001001") // same village, not on the case
	r.env.User(t, "x.admin2", "admin", "370323")
	r.env.User(t, "x.near", "township_agent", "370323001")
	id, _ := r.env.CreateCase(t, r.county, "370323001001", "GT001")
	c := r.env.Do(t, r.county, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, http.StatusOK).JSON
	mat := c["materials"].([]any)[0].(map[string]any)["code"].(string)
	move := func(to string) apptest.Response {
		return r.env.Do(t, r.county, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id),
			map[string]any{"material": mat, "from": "applicant", "to": to, "count": 1}, nil)
	}
	for _, to := range []string{"x.far", "x.village2", "x.admin2"} {
		resp := move(to)
		if resp.Status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), `"field":"to"`) || !strings.Contains(string(resp.Body), "无权查看本案件") {
			t.Errorf("custody to %s, who cannot see the case: %d %s", to, resp.Status, resp.Body)
		}
	}
	if resp := move("x.near"); resp.Status != http.StatusCreated {
		t.Errorf("custody to the township's agent: %d %s", resp.Status, resp.Body)
	}
}
