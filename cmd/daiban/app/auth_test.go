package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/httpapi"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "s.town", "township_agent", "370323001")

	r := env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "s.town", "password": apptest.Password}, nil).Must(t, 200)
	token := r.JSON["token"].(string)
	if r.JSON["expires_at"] == "" || r.JSON["user"].(map[string]any)["role"] != "township_agent" {
		t.Fatalf("login response %s", r.Body)
	}
	me := env.Do(t, token, http.MethodGet, "/api/v1/me", nil, nil).Must(t, 200)
	if me.JSON["user"].(map[string]any)["region"] != "370323001" {
		t.Fatalf("me: %s", me.Body)
	}
	// The token is stored only as a hash.
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions WHERE token_hash = convert_to($1, 'UTF8')", token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("token stored in clear (%d, %v)", n, err)
	}
	env.Do(t, token, http.MethodPost, "/api/v1/logout", nil, nil).Must(t, http.StatusNoContent)
	env.Do(t, token, http.MethodGet, "/api/v1/me", nil, nil).Must(t, http.StatusUnauthorized)
	env.Do(t, "forged-token", http.MethodGet, "/api/v1/me", nil, nil).Must(t, http.StatusUnauthorized)

	bad := env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "s.town", "password": "wrong-password"}, nil)
	if bad.Status != 401 || bad.ErrorCode() != "unauthenticated" {
		t.Fatalf("wrong password: %d %s", bad.Status, bad.Body)
	}
	unknown := env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "nobody", "password": "wrong-password"}, nil)
	if unknown.Status != 401 || string(unknown.Body) != string(bad.Body) {
		t.Fatalf("unknown user answers differently: %s vs %s", unknown.Body, bad.Body)
	}
}

func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "t.town", "township_agent", "370323001")
	for i := 0; i < 5; i++ {
		env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "t.town", "password": "guess-" + fmt.Sprint(i)}, nil).Must(t, 401)
	}
	r := env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "t.town", "password": apptest.Password}, nil)
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "too_many_requests" {
		t.Fatalf("after 5 failures: %d %s", r.Status, r.Body)
	}
}

func TestCookieSessionNeedsCSRFToken(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "c.town", "township_agent", "370323001")
	token := env.Token(t, "c.town")
	sess, err := env.App.Users.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	cookie := httpapi.SessionCookie + "=" + token
	body := map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": apptest.Person(t, 0)}
	// A cookie alone reads.
	env.Do(t, "", http.MethodGet, "/api/v1/me", nil, map[string]string{"Cookie": cookie}).Must(t, 200)
	// A cookie alone cannot write.
	r := env.Do(t, "", http.MethodPost, "/api/v1/cases", body, map[string]string{"Cookie": cookie})
	if r.Status != 403 {
		t.Fatalf("POST without CSRF token: %d", r.Status)
	}
	r = env.Do(t, "", http.MethodPost, "/api/v1/cases", body, map[string]string{"Cookie": cookie, httpapi.CSRFHeader: "wrong"})
	if r.Status != 403 {
		t.Fatalf("POST with wrong CSRF token: %d", r.Status)
	}
	r = env.Do(t, "", http.MethodPost, "/api/v1/cases", body, map[string]string{"Cookie": cookie, httpapi.CSRFHeader: sess.CSRFToken, "Sec-Fetch-Site": "cross-site"})
	if r.Status != 403 {
		t.Fatalf("cross-site POST: %d", r.Status)
	}
	env.Do(t, "", http.MethodPost, "/api/v1/cases", body, map[string]string{"Cookie": cookie, httpapi.CSRFHeader: sess.CSRFToken}).Must(t, 201)
}

func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "b.town", "township_agent", "370323001")
	tok := env.Token(t, "b.town")
	person := apptest.Person(t, 1)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"malformed JSON", `{"region":`, "body"},
		{"not an object", `[1,2]`, "body"},
		{"unknown field", `{"region":"370323001","colour":"red"}`, "colour"},
		{"wrong type", `{"region":370323001}`, "region"},
		{"two objects", `{} {}`, "body"},
		{"empty body", ``, "body"},
		{"unknown region", map[string]any{"region": "370323999", "channel": "counter", "matter": "GT001", "applicant": person}, "region"},
		{"unknown matter", map[string]any{"region": "370323001", "channel": "counter", "matter": "NOPE", "applicant": person}, "matter"},
		{"bad channel", map[string]any{"region": "370323001", "channel": "fax", "matter": "GT001", "applicant": person}, "channel"},
		{"bad ID checksum", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": map[string]string{"kind": "person", "name": "张三", "id_number": "370323198503122011", "phone": "13800000000"}}, "applicant.id_number"},
		{"bad phone", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": map[string]string{"kind": "person", "name": "张三", "id_number": person["id_number"], "phone": "12345"}}, "applicant.phone"},
		{"long name", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": map[string]string{"kind": "person", "name": strings.Repeat("名", 101), "id_number": person["id_number"], "phone": person["phone"]}}, "applicant.name"},
	}
	for _, c := range cases {
		r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", c.body, nil)
		if r.Status != 422 || r.ErrorCode() != "invalid" {
			t.Errorf("%s: %d %s, want 422 invalid", c.name, r.Status, r.Body)
			continue
		}
		if f := r.JSON["error"].(map[string]any)["field"]; f != c.field {
			t.Errorf("%s: field %v, want %s (%s)", c.name, f, c.field, r.Body)
		}
		if msg := r.JSON["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no message", c.name)
		}
	}
	// A body over the route's limit is refused before it is read: 413,
	// in the envelope, in words.
	if r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", `{"summary":"`+strings.Repeat("长", 400000)+`"}`, nil); r.Status != 413 || r.ErrorCode() != "too_large" {
		t.Errorf("too large: %d %s, want 413 too_large", r.Status, r.Body)
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM cases").Scan(&n); err != nil || n != 0 {
		t.Fatalf("bad input left %d cases (%v)", n, err)
	}
	// An unknown route is a 404 in the contract's envelope.
	if r := env.Do(t, tok, http.MethodGet, "/api/v1/nothing", nil, nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}
}

// TestLogsKeepSecretsOut signs in, opens a case with an ID number and
// phone, and checks none of the password, token, ID number or phone
// reaches the logs, while every request has a request id.
func TestLogsKeepSecretsOut(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "o.town", "township_agent", "370323001")
	tok := env.Token(t, "o.town")
	p := apptest.Person(t, 2)
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": p}, nil).Must(t, 201)
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no request id header")
	}
	env.Do(t, tok, http.MethodGet, "/api/v1/cases?q="+p["id_number"], nil, nil)
	logs := env.Logs.String()
	for _, secret := range []string{apptest.Password, tok, p["id_number"], p["phone"]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"request_id"`) {
		t.Error("logs lack request ids")
	}
}

// TestPurgeOldSessions: housekeeping removes sessions expired for over a
// week and sign-in failures older than a day, and keeps live ones.
func TestPurgeOldSessions(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.old", "township_agent", "370323001")
	live := env.Token(t, "p.old")
	ctx := t.Context()
	if _, err := env.Pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
		SELECT '\x01', id, 'x', now() - interval '8 days' FROM users WHERE username = 'p.old'`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `INSERT INTO login_failures (username, address, at) VALUES ('p.old', '127.0.0.1', now() - interval '2 days')`); err != nil {
		t.Fatal(err)
	}
	if err := env.App.Users.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	var sessions, failures int
	if err := env.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM login_failures)`).Scan(&sessions, &failures); err != nil {
		t.Fatal(err)
	}
	if sessions != 1 || failures != 0 {
		t.Fatalf("after purge: %d sessions (want the live one), %d old failures", sessions, failures)
	}
	env.Do(t, live, http.MethodGet, "/api/v1/me", nil, nil).Must(t, http.StatusOK)
}
