package web_test

import (
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// client is a browser without JavaScript: it keeps cookies and does not
// follow redirects, so each answer can be checked.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func send(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(b), resp.Header}
}

// signIn posts the sign-in form as a browser does: the form page first,
// for its pre-session token.
func signIn(t *testing.T, c *http.Client, base string, form url.Values, header map[string]string) answer {
	t.Helper()
	page := send(t, c, http.MethodGet, base+"/login", nil, nil)
	tok := between(page.body, `name="csrf_token" value="`, `"`)
	if tok == "" {
		t.Fatal("the sign-in form carries no token")
	}
	form.Set("csrf_token", tok)
	return send(t, c, http.MethodPost, base+"/login", form, header)
}

// TestSignInFormsAndCSRF checks, without a browser, what the pages promise
// about sessions: signed-out pages send a browser to sign in (API clients
// keep their 401), the session cookie is HttpOnly and SameSite=Lax, a form
// post without the session's CSRF token is refused on a page, and sign-out
// ends the session.
func TestSignInFormsAndCSRF(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.town", "township_agent", "370323001")
	base := env.Server.URL
	c := client(t)
	html := map[string]string{"Accept": "text/html,application/xhtml+xml"}

	if a := send(t, c, http.MethodGet, base+"/desk?all=1", nil, html); a.status != http.StatusSeeOther || a.location != "/login?next=%2Fdesk%3Fall%3D1" {
		t.Fatalf("signed-out page: %d → %q", a.status, a.location)
	}
	if a := send(t, c, http.MethodGet, base+"/desk", nil, nil); a.status != http.StatusUnauthorized {
		t.Fatalf("signed-out page for a client not asking for HTML: %d", a.status)
	}
	if a := send(t, c, http.MethodPost, base+"/intake", url.Values{"name": {"x"}}, html); a.status != http.StatusUnauthorized || !strings.Contains(a.body, "请先登录") {
		t.Fatalf("signed-out form post: %d %s", a.status, a.body)
	}

	bad := signIn(t, c, base, url.Values{"username": {"p.town"}, "password": {"wrong-password"}}, html)
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "用户名或密码错误") || !strings.Contains(bad.body, `value="p.town"`) {
		t.Fatalf("wrong password: %d", bad.status)
	}
	if a := signIn(t, c, base, url.Values{"username": {"p.town"}, "password": {apptest.Password}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); a.status != http.StatusForbidden {
		t.Fatalf("sign-in posted from another site: %d", a.status)
	}
	in := signIn(t, c, base, url.Values{"username": {"p.town"}, "password": {apptest.Password}, "next": {"/intake"}}, html)
	if in.status != http.StatusSeeOther || in.location != "/intake" {
		t.Fatalf("sign-in: %d → %q", in.status, in.location)
	}
	ck := in.header.Get("Set-Cookie")
	for _, want := range []string{"daiban_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
	if a := signIn(t, c, base, url.Values{"username": {"p.town"}, "password": {apptest.Password}, "next": {"//evil.example/"}}, html); a.location != "/desk" {
		t.Errorf("sign-in with an off-site next went to %q", a.location)
	}

	page := send(t, c, http.MethodGet, base+"/intake", nil, html)
	if page.status != http.StatusOK || !strings.Contains(page.body, "接待登记") {
		t.Fatalf("intake page: %d", page.status)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("no content security policy: %q", csp)
	}
	token := between(page.body, `name="csrf_token" value="`, `"`)
	if token == "" {
		t.Fatal("the form carries no CSRF token")
	}
	noToken := send(t, c, http.MethodPost, base+"/intake", url.Values{"matter": {"GT001"}}, html)
	if noToken.status != http.StatusForbidden || !strings.Contains(noToken.body, "表单已失效") {
		t.Fatalf("form post without the CSRF token: %d", noToken.status)
	}
	withToken := send(t, c, http.MethodPost, base+"/intake", url.Values{"csrf_token": {token}, "matter": {"GT001"}, "kind": {"person"}, "region": {"370323001"}, "id_number": {"123"}}, html)
	if withToken.status != http.StatusUnprocessableEntity || !strings.Contains(withToken.body, "身份证号码应为 18 位，现在是 3 位") {
		t.Fatalf("form post with a short ID number: %d", withToken.status)
	}
	// Every problem at once, summarised at the top of the form with a link
	// to each field.
	for _, want := range []string{`id="intake-summary" role="alert"`, "未保存：3 处需要修改", `href="#intake-id-number"`, `href="#intake-name"`, `href="#intake-phone"`, "请填写联系电话"} {
		if !strings.Contains(withToken.body, want) {
			t.Errorf("refused intake lacks %q", want)
		}
	}
	if i, j := strings.Index(withToken.body, "未保存："), strings.Index(withToken.body, `id="intake-id-number"`); i < 0 || j < 0 || i > j {
		t.Error("the summary is not above the fields")
	}

	out := send(t, c, http.MethodPost, base+"/logout", url.Values{"csrf_token": {token}}, html)
	if out.status != http.StatusSeeOther || out.location != "/login" {
		t.Fatalf("sign-out: %d → %q", out.status, out.location)
	}
	if a := send(t, c, http.MethodGet, base+"/desk", nil, html); a.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", a.status)
	}
}

// TestPagesAnswerLikeTheAPI: a page of a case outside the user's region
// is not found, an action the role may not take is forbidden — as pages.
func TestPagesAnswerLikeTheAPI(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "q.town", "township_agent", "370323001")
	env.User(t, "q.other", "township_agent", "370323101")
	env.User(t, "q.super", "supervisor", "370323001")
	id, _ := env.CreateCase(t, env.Token(t, "q.town"), "370323001", "GT001")
	base := env.Server.URL
	html := map[string]string{"Accept": "text/html"}
	for _, tc := range []struct {
		user, method, path string
		status             int
		says               string
	}{
		{"q.other", http.MethodGet, "/cases/%d", http.StatusNotFound, "不在您的管辖范围内"},
		{"q.super", http.MethodGet, "/cases/%d", http.StatusOK, "接待咨询"},
		{"q.super", http.MethodPost, "/cases/%d/act/review", http.StatusForbidden, "无权执行此操作"},
		{"q.town", http.MethodGet, "/supervision", http.StatusOK, "督查"},
		{"q.super", http.MethodGet, "/intake", http.StatusForbidden, "无权"},
		// The report form answers on the form, not with the API's JSON.
		{"q.super", http.MethodGet, "/supervision/report?region=370323001&month=2099-01", http.StatusUnprocessableEntity, `id="month-error" role="alert">月份 2099-01 尚未到来`},
		{"q.super", http.MethodGet, "/supervision/report?region=370323001&month=2099-01", http.StatusUnprocessableEntity, "未生成报告：1 处需要修改"},
		{"q.super", http.MethodGet, "/supervision/report?region=370323001&month=2026%E5%B9%B4", http.StatusUnprocessableEntity, `value="2026年"`},
		{"q.super", http.MethodGet, "/supervision/report?region=370323001&month=", http.StatusUnprocessableEntity, "请选择月份"},
	} {
		c := client(t)
		signIn(t, c, base, url.Values{"username": {tc.user}, "password": {apptest.Password}}, html)
		path := tc.path
		if strings.Contains(path, "%d") {
			path = strings.Replace(path, "%d", itoa(id), 1)
		}
		var form url.Values
		if tc.method == http.MethodPost {
			page := send(t, c, http.MethodGet, base+"/cases/"+itoa(id), nil, html)
			form = url.Values{"csrf_token": {between(page.body, `name="csrf_token" value="`, `"`)}}
		}
		a := send(t, c, tc.method, base+path, form, html)
		if a.status != tc.status || !strings.Contains(a.body, tc.says) || !strings.Contains(a.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s %s: %d %q, want %d with %q", tc.user, tc.method, path, a.status, a.header.Get("Content-Type"), tc.status, tc.says)
		}
	}
}

// TestReportFormGoesOnToThePDF: a good month on the report form leads to
// the PDF of the region asked for.
func TestReportFormGoesOnToThePDF(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "r.super", "supervisor", "370323001")
	c := client(t)
	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, env.Server.URL, url.Values{"username": {"r.super"}, "password": {apptest.Password}}, html)
	a := send(t, c, http.MethodGet, env.Server.URL+"/supervision/report?region=370323001&month=2025-01", nil, html)
	if a.status != http.StatusSeeOther || a.location != "/api/v1/reports/monthly.pdf?month=2025-01&region=370323001" {
		t.Fatalf("report form: %d → %q", a.status, a.location)
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFavicon: the icon browsers fetch on every page is served (a missing
// one is a console error on every page) and the pages point at it.
func TestFavicon(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	c := client(t)
	ico := send(t, c, http.MethodGet, env.Server.URL+"/favicon.ico", nil, nil)
	if ico.status != http.StatusOK || ico.header.Get("Content-Type") != "image/png" {
		t.Fatalf("/favicon.ico: %d %q", ico.status, ico.header.Get("Content-Type"))
	}
	if img, err := png.Decode(strings.NewReader(ico.body)); err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("/favicon.ico is not a 32 px PNG: %v", err)
	}
	svg := send(t, c, http.MethodGet, env.Server.URL+"/static/favicon.svg", nil, nil)
	if svg.status != http.StatusOK || !strings.Contains(svg.body, "<svg") {
		t.Fatalf("/static/favicon.svg: %d", svg.status)
	}
	login := send(t, c, http.MethodGet, env.Server.URL+"/login", nil, map[string]string{"Accept": "text/html"})
	if !strings.Contains(login.body, `rel="icon" href="/static/favicon.svg"`) {
		t.Fatal("the sign-in page does not link the icon")
	}
}

// TestMissingAndOutOfRegionLookAlike: a case outside the user's region and
// one that does not exist answer the same, on pages and in the API, so
// nobody learns which cases exist elsewhere.
func TestMissingAndOutOfRegionLookAlike(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "m.town", "township_agent", "370323001")
	env.User(t, "m.other", "township_agent", "370323101")
	id, _ := env.CreateCase(t, env.Token(t, "m.town"), "370323001", "GT001")
	other := env.Token(t, "m.other")
	missing := id + 100000
	var apiBodies []string
	for _, cid := range []int64{id, missing} {
		r := env.Do(t, other, http.MethodGet, "/api/v1/cases/"+itoa(cid), nil, nil)
		if r.Status != http.StatusNotFound {
			t.Fatalf("API case %d: %d", cid, r.Status)
		}
		apiBodies = append(apiBodies, fmt.Sprint(r.JSON["error"].(map[string]any)["code"], r.JSON["error"].(map[string]any)["message"]))
	}
	if apiBodies[0] != apiBodies[1] {
		t.Errorf("API: out of region %q, missing %q", apiBodies[0], apiBodies[1])
	}
	c := client(t)
	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, env.Server.URL, url.Values{"username": {"m.other"}, "password": {apptest.Password}}, html)
	var pages []string
	for _, cid := range []int64{id, missing} {
		a := send(t, c, http.MethodGet, env.Server.URL+"/cases/"+itoa(cid), nil, html)
		if a.status != http.StatusNotFound {
			t.Fatalf("page case %d: %d", cid, a.status)
		}
		pages = append(pages, between(a.body, "<main", "</main>"))
	}
	if pages[0] == "" || pages[0] != pages[1] {
		t.Errorf("pages differ:\nout of region: %s\nmissing: %s", pages[0], pages[1])
	}
}

// TestPublicFormsNeedTheirToken: the sign-in form and the tracking page's
// rating are refused without the pre-session token of the page they came
// from, or from a page of another origin — with a page saying so, never a
// 500 — and a browser that came through the form signs in.
func TestPublicFormsNeedTheirToken(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "f.town", "township_agent", "370323001")
	base := env.Server.URL
	creds := func() url.Values { return url.Values{"username": {"f.town"}, "password": {apptest.Password}} }
	stale := func(what string, a answer) {
		t.Helper()
		if a.status != http.StatusForbidden || !strings.Contains(a.body, "表单已失效，请刷新页面后重试") || strings.Contains(a.header.Get("Set-Cookie"), "daiban_session=") {
			t.Errorf("%s: %d %q, want 403 saying the form is stale and no session", what, a.status, snippet(a.body))
		}
	}

	c := client(t)
	page := send(t, c, http.MethodGet, base+"/login", nil, nil)
	tok := between(page.body, `name="csrf_token" value="`, `"`)
	ck := page.header.Get("Set-Cookie")
	for _, want := range []string{"daiban_form=" + tok, "HttpOnly", "SameSite=Strict", "Max-Age="} {
		if tok == "" || !strings.Contains(ck, want) {
			t.Errorf("form cookie %q lacks %s", ck, want)
		}
	}
	stale("no token", send(t, c, http.MethodPost, base+"/login", creds(), nil))
	withTok := creds()
	withTok.Set("csrf_token", "x"+tok[1:])
	stale("wrong token", send(t, c, http.MethodPost, base+"/login", withTok, nil))
	withTok.Set("csrf_token", tok)
	stale("another origin", send(t, c, http.MethodPost, base+"/login", withTok, map[string]string{"Origin": "http://evil.example"}))
	stale("a sibling host", send(t, c, http.MethodPost, base+"/login", withTok, map[string]string{"Origin": "http://attacker." + strings.TrimPrefix(base, "http://")}))
	stale("opaque origin", send(t, c, http.MethodPost, base+"/login", withTok, map[string]string{"Origin": "null"}))
	// The token of one browser is no good in another (no cookie there).
	stale("another browser", send(t, client(t), http.MethodPost, base+"/login", withTok, nil))
	if a := send(t, c, http.MethodPost, base+"/login", withTok, map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}); a.status != http.StatusSeeOther || a.location != "/desk" {
		t.Fatalf("sign-in from the form: %d → %q %s", a.status, a.location, snippet(a.body))
	}

	// The rating on the tracking page, from a browser that never saw it.
	agent := env.Token(t, "f.town")
	id, _ := env.CreateCase(t, agent, "370323001", "GT001")
	code := env.Do(t, agent, http.MethodGet, "/api/v1/cases/"+itoa(id), nil, nil).Must(t, 200).JSON["tracking_code"].(string)
	stale("rating without the page", send(t, client(t), http.MethodPost, base+"/track/"+code, url.Values{"rating": {"1"}, "comment": {"差"}}, nil))
}

func snippet(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// TestIntakeWarnsOfDuplicates: the intake form, sent again for an
// applicant with an open case for the same matter, is not saved; it links
// to the open case and asks for a reason, and with one it registers.
func TestIntakeWarnsOfDuplicates(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "u.town", "township_agent", "370323001")
	c := client(t)
	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, env.Server.URL, url.Values{"username": {"u.town"}, "password": {apptest.Password}}, html)
	person := apptest.Person(t, 8)
	post := func(reason string) answer {
		page := send(t, c, http.MethodGet, env.Server.URL+"/intake", nil, html)
		form := url.Values{"csrf_token": {between(page.body, `name="csrf_token" value="`, `"`)}, "idem": {between(page.body, `name="idem" value="`, `"`)},
			"matter": {"SP001"}, "region": {"370323001001"}, "channel": {"counter"}, "kind": {"person"},
			"name": {person["name"]}, "id_number": {person["id_number"]}, "phone": {person["phone"]}, "duplicate_reason": {reason}}
		return send(t, c, http.MethodPost, env.Server.URL+"/intake", form, html)
	}
	first := post("")
	if first.status != http.StatusSeeOther {
		t.Fatalf("first intake: %d", first.status)
	}
	again := post("")
	for _, want := range []string{"未保存：1 处需要修改", `href="#intake-duplicate-reason"`, `id="intake-duplicates"`, "该申请人已有同一事项的在办案件", `href="` + first.location + `"`, `name="duplicate_reason"`} {
		if again.status != http.StatusConflict || !strings.Contains(again.body, want) {
			t.Errorf("second intake (%d) lacks %q", again.status, want)
		}
	}
	if withReason := post("申请人另有一处经营场所"); withReason.status != http.StatusSeeOther || withReason.location == first.location {
		t.Fatalf("intake with a reason: %d → %s", withReason.status, withReason.location)
	}
}

// TestUnknownAddressIsAPage: a browser that asks for an address that is no
// page (a typo, a trailing slash) gets a page saying so, not the API's
// JSON; an API client still gets JSON.
func TestUnknownAddressIsAPage(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "k.town", "township_agent", "370323001")
	c := client(t)
	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, env.Server.URL, url.Values{"username": {"k.town"}, "password": {apptest.Password}}, html)
	for _, path := range []string{"/nonexistent", "/cases/", "/desk/x"} {
		a := send(t, c, http.MethodGet, env.Server.URL+path, nil, html)
		if a.status != http.StatusNotFound || !strings.Contains(a.header.Get("Content-Type"), "text/html") || !strings.Contains(a.body, "页面不存在") || strings.Contains(a.body, `"error"`) {
			t.Errorf("GET %s in a browser: %d %q", path, a.status, a.header.Get("Content-Type"))
		}
	}
	if r := env.Do(t, env.Token(t, "k.town"), http.MethodGet, "/api/v1/nonexistent", nil, nil); r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
		t.Errorf("API: %d %s", r.Status, r.Body)
	}
}
