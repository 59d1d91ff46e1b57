package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/ledger"
)

// attempt is one sign-in of a burst: who, with what, and from which
// X-Forwarded-For ("" for none).
type attempt struct {
	username, password, xff string
}

// burstResult is what came back from a burst: the count of each status and
// one example of each answer's body and Retry-After.
type burstResult struct {
	status     map[int]int
	retryAfter []string // of the 429s
	body429    string
	errs       []string
}

// signInBurst sends every attempt at once (each in its own goroutine and
// connection) to the API's sign-in.
func signInBurst(t *testing.T, base string, attempts []attempt) burstResult {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: len(attempts)}}
	defer client.CloseIdleConnections()
	res := burstResult{status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"username": a.username, "password": a.password})
			req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/login", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if a.xff != "" {
				req.Header.Set("X-Forwarded-For", a.xff)
			}
			<-start
			resp, err := client.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errs = append(res.errs, err.Error())
				return
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			res.status[resp.StatusCode]++
			if resp.StatusCode == http.StatusTooManyRequests {
				res.retryAfter = append(res.retryAfter, resp.Header.Get("Retry-After"))
				res.body429 = string(data)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(res.errs) > 0 {
		t.Fatalf("%d transport errors, first %s", len(res.errs), res.errs[0])
	}
	return res
}

// wrong returns n attempts for username with wrong passwords.
func wrong(username, xff string, n int) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = attempt{username: username, password: fmt.Sprintf("wrong-guess-%03d", i), xff: xff}
	}
	return out
}

// checkedPasswords is how many sign-in attempts for username had their
// password checked and failed: each one checked leaves one failure row.
func checkedPasswords(t *testing.T, env *apptest.Env, username string) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM login_failures WHERE username = $1", username).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitPasses moves username's failures back by d, as if d had passed.
func waitPasses(t *testing.T, env *apptest.Env, username string, d time.Duration) {
	t.Helper()
	if _, err := env.Pool.Exec(t.Context(), "UPDATE login_failures SET at = at - make_interval(secs => $2) WHERE username = $1", username, d.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// check429 asserts every refused attempt says when to come back, in
// Chinese, with a Retry-After within (0, max].
func check429(t *testing.T, r burstResult, max time.Duration) {
	t.Helper()
	for _, v := range r.retryAfter {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || time.Duration(n)*time.Second > max {
			t.Fatalf("Retry-After %q, want 1..%v seconds", v, max.Seconds())
		}
	}
	if len(r.retryAfter) > 0 && (!strings.Contains(r.body429, "后再试（北京时间") || !strings.Contains(r.body429, "too_many_requests")) {
		t.Fatalf("429 body %s", r.body429)
	}
}

// TestSignInThrottleHoldsUnderConcurrency: 100 attempts on one account, at
// once: exactly 5 passwords are checked, the right password at try 56 is
// refused without being checked, another user at the same address is not
// affected, and after the wait the right password works.
func TestSignInThrottleHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "r.town", "township_agent", "370323001")
	env.User(t, "r.other", "township_agent", "370323001")

	first := signInBurst(t, env.Server.URL, wrong("r.town", "", 55))
	if first.status[401] != 5 || first.status[429] != 50 {
		t.Fatalf("55 at once: %v, want 5×401 and 50×429", first.status)
	}
	check429(t, first, time.Minute)
	// Try 56, the right password, comes with 44 more guesses.
	second := signInBurst(t, env.Server.URL, append([]attempt{{username: "r.town", password: apptest.Password}}, wrong("r.town", "", 44)...))
	if second.status[429] != 45 {
		t.Fatalf("tries 56–100 (56 right): %v, want all 45 refused", second.status)
	}
	check429(t, second, time.Minute)
	if n := checkedPasswords(t, env, "r.town"); n != 5 {
		t.Fatalf("%d passwords checked of 100, want 5", n)
	}
	// Another user from the same address signs in.
	env.Token(t, "r.other")
	// After the first wait (1 minute) one more guess is checked, then the
	// wait doubles.
	waitPasses(t, env, "r.town", 61*time.Second)
	third := signInBurst(t, env.Server.URL, wrong("r.town", "", 20))
	if third.status[401] != 1 || third.status[429] != 19 {
		t.Fatalf("after 1 minute: %v, want 1×401 and 19×429", third.status)
	}
	check429(t, third, 2*time.Minute)
	if ra, _ := strconv.Atoi(third.retryAfter[0]); ra < 110 {
		t.Fatalf("after the 6th failure Retry-After %d s, want about 120", ra)
	}
	waitPasses(t, env, "r.town", 121*time.Second)
	env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "r.town", "password": apptest.Password}, nil).Must(t, http.StatusOK)
	if n := checkedPasswords(t, env, "r.town"); n != 0 {
		t.Fatalf("%d failures left after success from the same address", n)
	}
}

// TestSignInThrottleBehindProxy: with 127.0.0.1 as the trusted proxy, the
// client address comes from X-Forwarded-For. 100 guesses at once from one
// client across 100 accounts check exactly 20 passwords; another client is
// not affected; the real user at its known address signs in while an
// attacker keeps its account's guesses throttled; a header spoofed by the
// client left of the proxy's hop is ignored.
func TestSignInThrottleBehindProxy(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.App.HTTP.TrustProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	env.User(t, "p.real", "township_agent", "370323001")
	// The real user works from 198.51.100.10, its known address.
	r := env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "p.real", "password": apptest.Password}, map[string]string{"X-Forwarded-For": "198.51.100.10"})
	r.Must(t, http.StatusOK)

	// Password spraying from 203.0.113.7, whatever it writes itself.
	var spray []attempt
	for i := range 100 {
		spray = append(spray, attempt{username: fmt.Sprintf("nobody%03d", i), password: "wrong-guess-1", xff: fmt.Sprintf("10.%d.0.1, 203.0.113.7", i)})
	}
	res := signInBurst(t, env.Server.URL, spray)
	if res.status[401] != 20 || res.status[429] != 80 {
		t.Fatalf("100 at once from one client: %v, want 20×401 and 80×429", res.status)
	}
	check429(t, res, time.Minute)
	// A second client is not affected.
	env.User(t, "p.second", "township_agent", "370323001")
	env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "p.second", "password": apptest.Password}, map[string]string{"X-Forwarded-For": "203.0.113.8"}).Must(t, http.StatusOK)

	// Guessing the real user's password from many addresses: 5 checked.
	var guesses []attempt
	for i := range 100 {
		guesses = append(guesses, attempt{username: "p.real", password: fmt.Sprintf("wrong-guess-%d", i), xff: fmt.Sprintf("192.0.2.%d", i+1)})
	}
	res = signInBurst(t, env.Server.URL, guesses)
	if res.status[401] != 5 || res.status[429] != 95 {
		t.Fatalf("100 guesses from 100 addresses: %v, want 5×401 and 95×429", res.status)
	}
	// The right password from a new address waits too…
	r = env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "p.real", "password": apptest.Password}, map[string]string{"X-Forwarded-For": "192.0.2.200"})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password from a new address during the wait: %d %s", r.Status, r.Body)
	}
	// …but the real user at its own desk is not locked out.
	env.Do(t, "", http.MethodPost, "/api/v1/login", map[string]string{"username": "p.real", "password": apptest.Password}, map[string]string{"X-Forwarded-For": "198.51.100.10"}).Must(t, http.StatusOK)
}

// TestSpoofedForwardedForIgnored: without trusted proxies, a client that
// writes a different X-Forwarded-For on every guess is still one address.
func TestSpoofedForwardedForIgnored(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	var spray []attempt
	for i := range 100 {
		spray = append(spray, attempt{username: fmt.Sprintf("nobody%03d", i), password: "wrong-guess-1", xff: fmt.Sprintf("203.0.113.%d", i+1)})
	}
	res := signInBurst(t, env.Server.URL, spray)
	if res.status[401] != 20 || res.status[429] != 80 {
		t.Fatalf("100 spoofed guesses: %v, want 20×401 and 80×429", res.status)
	}
}

// accountEntries returns the ledger entries about accounts, oldest first.
func accountEntries(t *testing.T, env *apptest.Env) []ledger.Entry {
	t.Helper()
	rows, err := env.Pool.Query(t.Context(), "SELECT actor, region, type, convert_from(payload, 'UTF8') FROM ledger_entries WHERE type LIKE 'user.%' AND case_id IS NULL ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		var e ledger.Entry
		var p string
		if err := rows.Scan(&e.Actor, &e.Region, &e.Type, &p); err != nil {
			t.Fatal(err)
		}
		e.Payload = json.RawMessage(p)
		out = append(out, e)
	}
	return out
}

// TestAccountChangesAreAccountable: nobody changes their own role, region
// or state; an administrator cannot give a county-wide account a case
// role; every change is a ledger entry naming who made it, without the
// password.
func TestAccountChangesAreAccountable(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "a.admin", "admin", "370323")
	env.User(t, "a.super", "supervisor", "370323")
	admin := env.Token(t, "a.admin")
	patch := func(user string, body map[string]any) apptest.Response {
		return env.Do(t, admin, http.MethodPatch, "/api/v1/users/"+user, body, nil)
	}
	for _, body := range []map[string]any{{"role": "county_agent"}, {"region": "370323001"}, {"disabled": true}, {"role": "supervisor"}} {
		if r := patch("a.admin", body); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "不能更改自己") {
			t.Errorf("own change %v: %d %s", body, r.Status, r.Body)
		}
	}
	for name, r := range map[string]apptest.Response{
		"promote county supervisor": patch("a.super", map[string]any{"role": "county_agent"}),
		"create county agent": env.Do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
			"username": "a.puppet", "name": "傀儡", "role": "county_agent", "region": "370323", "password": "a-long-secret-42"}, nil),
	} {
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "县级账号") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	// What an administrator may do, each recorded.
	env.Do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{
		"username": "a.town", "name": "镇代办员", "role": "township_agent", "region": "370323001", "password": "a-long-secret-42"}, nil).Must(t, http.StatusCreated)
	patch("a.town", map[string]any{"region": "370323101", "name": "改名"}).Must(t, http.StatusOK)
	patch("a.town", map[string]any{"disabled": true}).Must(t, http.StatusOK)
	patch("a.town", map[string]any{"disabled": false, "password": "another-secret-43"}).Must(t, http.StatusOK)
	patch("a.admin", map[string]any{"name": "管理员新名"}).Must(t, http.StatusOK) // own name: allowed

	var got []string
	for _, e := range accountEntries(t, env) {
		got = append(got, e.Actor+" "+e.Type+" "+e.Region+" "+string(e.Payload))
		if strings.Contains(string(e.Payload), "secret") || strings.Contains(string(e.Payload), "argon2") {
			t.Errorf("ledger payload holds a password: %s", e.Payload)
		}
	}
	want := []string{
		`system:apptest user.created 370323 {"region":"370323","role":"admin","username":"a.admin"}`,
		`system:apptest user.created 370323 {"region":"370323","role":"supervisor","username":"a.super"}`,
		`a.admin user.created 370323001 {"region":"370323001","role":"township_agent","username":"a.town"}`,
		`a.admin user.region 370323101 {"from":"370323001","to":"370323101","username":"a.town"}`,
		`a.admin user.name 370323101 {"username":"a.town"}`,
		`a.admin user.disabled 370323101 {"username":"a.town"}`,
		`a.admin user.enabled 370323101 {"username":"a.town"}`,
		`a.admin user.password_reset 370323101 {"username":"a.town"}`,
		`a.admin user.name 370323 {"username":"a.admin"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("account ledger entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPasswordRules: at least 10 characters, not a common password, not
// the username; the message names the rule.
func TestPasswordRules(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "w.admin", "admin", "370323")
	env.User(t, "w.town", "township_agent", "370323001")
	admin := env.Token(t, "w.admin")
	for pw, msg := range map[string]string{
		"12345678": "至少 10 个字符", "password": "至少 10 个字符", "1234567890": "过于常见", "qwertyuiop": "过于常见",
		"woaini1314": "过于常见", "zhang123456": "过于常见", "Password123": "过于常见", "aaaaaaaaaaaa": "过于常见",
		"w.newuser-2024": "用户名",
	} {
		r := env.Do(t, admin, http.MethodPost, "/api/v1/users", map[string]any{"username": "w.newuser", "name": "新用户", "role": "township_agent", "region": "370323001", "password": pw}, nil)
		if r.Status != 422 || r.JSON["error"].(map[string]any)["field"] != "password" || !strings.Contains(string(r.Body), msg) {
			t.Errorf("create with %q: %d %s, want 422 naming %q", pw, r.Status, r.Body, msg)
		}
		r = env.Do(t, admin, http.MethodPatch, "/api/v1/users/w.town", map[string]any{"password": pw}, nil)
		if pw != "w.newuser-2024" && (r.Status != 422 || !strings.Contains(string(r.Body), msg)) {
			t.Errorf("reset to %q: %d %s", pw, r.Status, r.Body)
		}
	}
	env.Do(t, admin, http.MethodPatch, "/api/v1/users/w.town", map[string]any{"password": "river-stone-lamp"}, nil).Must(t, http.StatusOK)
}
