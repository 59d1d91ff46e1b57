package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// publicRoute is one route that answers without a sign-in; {} in its
// path takes the fuzzed parameter.
type publicRoute struct {
	method, path, param string // param: the default when the fuzzer gives none
}

// escapeAll percent-encodes every byte of s that is not a letter or a
// digit, so any byte sequence, invalid UTF-8 and NUL included, reaches
// the server as the parameter.
func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sendable reports whether an HTTP client would send value in a header
// (it refuses control characters itself).
func sendable(value string) bool {
	return !strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
}

// headerLines turns "Name: value" lines into headers, dropping what no
// HTTP client could send.
func headerLines(s string) http.Header {
	h := http.Header{}
	for _, line := range strings.Split(s, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || !sendable(value) ||
			strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) {
			continue
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Trailer", "Te", "Expect":
			continue // framing, the client's business
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h
}

// FuzzPublicRoutes feeds the routes anyone can reach without signing in
// (signing, tracking, verification, sign-in on the page and the API) with
// arbitrary parameters, content types, headers and bodies, the review's
// attacks among the seeds. The answer is never a 5xx; an API refusal is
// the error envelope; and no request makes the server allocate more than
// 64 MiB (the review's image decoded took 72 MB each).
func FuzzPublicRoutes(f *testing.F) {
	env := apptest.New(f)
	env.User(f, "fp.town", "township_agent", "370323001")
	tok := env.Token(f, "fp.town")
	const region = "370323001001"
	id, _ := env.CreateCase(f, tok, region, "GT001")
	c := env.Do(f, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(f, 200).JSON
	env.Act(f, tok, id, int(c["version"].(float64)), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(f, 200)
	a := env.Do(f, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement", id), nil, nil).Must(f, 201)
	live := strings.TrimPrefix(a.JSON["signing_url"].(string), "/sign/")
	tracking := c["tracking_code"].(string)
	idNumber := apptest.Person(f, int(region[len(region)-1]))["id_number"]

	routes := map[string]publicRoute{
		"sign":            {http.MethodPost, "/api/v1/sign/{}", live},
		"sign-info":       {http.MethodGet, "/api/v1/sign/{}", live},
		"sign-page":       {http.MethodGet, "/sign/{}", live},
		"track":           {http.MethodGet, "/api/v1/track/{}", tracking},
		"track-rate":      {http.MethodPost, "/api/v1/track/{}/evaluation", tracking},
		"track-page":      {http.MethodGet, "/track/{}", tracking},
		"track-page-rate": {http.MethodPost, "/track/{}", tracking},
		"track-lookup":    {http.MethodGet, "/track?code={}", tracking},
		"verify":          {http.MethodGet, "/api/v1/verify/{}", "NOTAKEY"},
		"verify-page":     {http.MethodGet, "/verify/{}", "NOTAKEY"},
		"verify-lookup":   {http.MethodGet, "/verify?key={}", "NOTAKEY"},
		"login":           {http.MethodPost, "/login?next={}", "/desk"},
		"login-page":      {http.MethodGet, "/login?next={}", "/desk"},
		"api-login":       {http.MethodPost, "/api/v1/login", ""},
	}
	keys := make([]string, 0, len(routes))
	for k := range routes {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	b64 := base64.StdEncoding.EncodeToString
	attack := b64(attackPNG(f, 3000, 3000, 16))
	sig := b64(attackPNG(f, 300, 100, 8))
	sign := func(img, last4 string) []byte {
		b, _ := json.Marshal(map[string]string{"image_png": img, "id_last4": last4})
		return b
	}
	const js, form = "application/json", "application/x-www-form-urlencoded"
	for _, s := range []struct {
		route, param, ctype, header string
		body                        []byte
	}{
		{"sign", "bogus-token", js, "", sign(attack, "1234")},
		{"sign", "", js, "", sign(attack, idNumber[14:])},
		{"sign", "", js, "Accept: text/html", sign(sig, "0000")},
		{"sign", "\xff\x00", js, "", sign(sig, "1234")},
		{"sign", "", "multipart/form-data; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\naaaa\r\n--x--\r\n")},
		{"sign", "", js, "", []byte(`{"image_png":"` + strings.Repeat("A", 1500<<10) + `"}`)},
		{"sign-info", "%ff", "", "", nil},
		{"sign-page", strings.Repeat("t", 400), "", "", nil},
		{"track", "\x00", "", "", nil},
		{"track-rate", "", js, "", []byte(`{"rating":5,"comment":"` + strings.Repeat("好", 30000) + `"}`)},
		{"track-page-rate", "", form, "Sec-Fetch-Site: cross-site", []byte("rating=5&comment=%ff")},
		{"track-lookup", "ABC\xff", "", "", nil},
		{"verify", "\xff\xfe", "", "", nil},
		{"verify-lookup", strings.Repeat("k", 5000), "", "", nil},
		{"login", "", form, "", []byte("username=" + strings.Repeat("a", 3000) + "&password=x")},
		{"login", "", form, "", []byte("username=%ff&password=x")},
		{"login", "", form, "", []byte("username=a%00&password=x")},
		{"login", "//evil.example/\t", "multipart/form-data; boundary=XyZ", "", []byte("--XyZ\r\nContent-Disposition: form-data; name=\"username\"; filename=\"big\"\r\n\r\n" + strings.Repeat("a", 100<<10) + "\r\n--XyZ--\r\n")},
		{"login", "", form, "", bytes.Repeat([]byte("a"), 200<<10)},
		{"login-page", "/\t/other.host/x", "", "", nil},
		{"api-login", "", js, "", []byte(`{"username":"` + strings.Repeat("a", 3000) + `","password":"x"}`)},
		{"api-login", "", js, "X-Forwarded-For: 1.2.3.4", []byte(`{"username":"a\u0000b","password":"x"}`)},
		{"api-login", "", js, "", []byte(`{"username":"fp.town","password":"` + strings.Repeat("p", 100000) + `"}`)},
		{"api-login", "", "text/plain", "Content-Encoding: gzip", []byte("\x1f\x8b\x08\x00")},
	} {
		f.Add(s.route, s.param, s.ctype, s.header, s.body)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, route, param, ctype, header string, body []byte) {
		rt, ok := routes[route]
		if !ok {
			rt = routes[keys[len(route)%len(keys)]]
		}
		if param == "" {
			param = rt.param
		}
		path := strings.Replace(rt.path, "{}", escapeAll(param), 1)
		req, err := http.NewRequest(rt.method, env.Server.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Skip(err)
		}
		req.Header = headerLines(header)
		if ctype != "" && sendable(ctype) {
			req.Header.Set("Content-Type", ctype)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rt.method, snippet([]byte(path), 120), err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		runtime.ReadMemStats(&after)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s (%s, %d bytes): %d %s", rt.method, snippet([]byte(path), 120), ctype, len(body), resp.StatusCode, snippet(data, 300))
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s %s (%d bytes): the server allocated %d MiB", rt.method, snippet([]byte(path), 120), len(body), alloc>>20)
		}
		if strings.HasPrefix(path, "/api/") && resp.StatusCode >= 400 {
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(data, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("%s %s: %d is not the error envelope: %s", rt.method, snippet([]byte(path), 120), resp.StatusCode, snippet(data, 200))
			}
		}
	})
}
