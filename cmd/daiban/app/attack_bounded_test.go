package app_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban/agreements/pdf/pngtest"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// Re-runs of the review's findings 1 (an image flood exhausts memory), 3
// (the signing link's ID check loses a race), 5 (no body limit on form
// routes) and 8 (500s on odd input).

func init() {
	addFinding("1: image flood to a signing link", floodSigningLinks)
	addFinding("3: signing-link ID checks under concurrency", concurrentIDChecks)
	addFinding("5: body limits and no multipart", bodyLimits)
	addFinding("8: odd input is a 422 before any work", oddInput)
}

// attackPNG is a w×h flat RGBA PNG of the given bit depth, as small on
// the wire as the review's (see pngtest.Flat).
func attackPNG(tb testing.TB, w, h int, depth byte) []byte {
	tb.Helper()
	return pngtest.Flat(w, h, depth, pngtest.RGBA)
}

// signingLink opens a case in the demo county as the county agent,
// accepts it and drafts the agreement; it returns the applicant's link
// token, the document id and the last four characters of the
// applicant's ID number.
func signingLink(t *testing.T, r *attackRun) (token string, docID int64, last4 string) {
	t.Helper()
	const region = "370323001001"
	id, _ := r.env.CreateCase(t, r.county, region, "GT001")
	c := caseJSON(t, r.env, r.county, id)
	r.env.Act(t, r.county, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200)
	a := r.env.Do(t, r.county, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/agreement", id), nil, nil).Must(t, 201)
	token = strings.TrimPrefix(a.JSON["signing_url"].(string), "/sign/")
	idNumber := apptest.Person(t, int(region[len(region)-1]))["id_number"]
	return token, int64(a.JSON["document_id"].(float64)), idNumber[len(idNumber)-4:]
}

// burst sends n requests at once and returns the statuses and bodies in
// the order of i; before(i) may hold request i back, after(i) is told
// when its answer is in.
func burst(t *testing.T, r *attackRun, n int, method, path string, body func(i int) []byte, before, after func(i int)) ([]int, [][]byte) {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	statuses, bodies := make([]int, n), make([][]byte, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if before != nil {
				before(i)
			}
			if after != nil {
				defer after(i)
			}
			req, _ := http.NewRequest(method, r.env.Server.URL+path, bytes.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				bodies[i] = []byte(err.Error())
				return
			}
			defer resp.Body.Close()
			bodies[i], _ = io.ReadAll(resp.Body)
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	for i, st := range statuses {
		if st >= 500 || st == 0 {
			r.a.fives = append(r.a.fives, fmt.Sprintf("[burst] %s %s #%d -> %d %s", method, path, i, st, snippet(bodies[i], 200)))
		}
	}
	return statuses, bodies
}

func count(statuses []int) map[int]int {
	m := map[int]int{}
	for _, s := range statuses {
		m[s]++
	}
	return m
}

// floodSigningLinks sends the review's attack: 32 small 16-bit
// 3000×3000 PNGs at once, to a made-up link and then to a live one. The
// made-up link is refused before its body is read; the live link's
// refusal comes from the image's header; neither decodes. The test
// process's allocations during each burst show it (the server runs in
// it); decoding one such image alone allocates 72 MB.
func floodSigningLinks(t *testing.T, r *attackRun) {
	token, _, last4 := signingLink(t, r)
	img := attackPNG(t, 3000, 3000, 16)
	body, _ := json.Marshal(map[string]string{"image_png": base64.StdEncoding.EncodeToString(img), "id_last4": last4})
	t.Logf("attack image: 16-bit 3000×3000, %d bytes (%d in the request)", len(img), len(body))
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"made-up link", "/api/v1/sign/" + strings.Repeat("Zq9", 14), http.StatusNotFound},
		{"live link with the right ID number", "/api/v1/sign/" + token, http.StatusUnprocessableEntity},
	} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		statuses, bodies := burst(t, r, 32, http.MethodPost, tc.path, func(int) []byte { return body }, nil, nil)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: 32 at once answered %v in %v; %d MiB allocated", tc.name, count(statuses), took.Round(time.Millisecond), alloc>>20)
		if c := count(statuses); c[tc.status] != 32 {
			t.Errorf("%s: %v (first body %s), want 32 × %d", tc.name, c, snippet(bodies[0], 200), tc.status)
		}
		if tc.status == http.StatusUnprocessableEntity && !strings.Contains(string(bodies[0]), "过大") {
			t.Errorf("%s: %s, want the image refused as too large", tc.name, snippet(bodies[0], 200))
		}
		if alloc > 64<<20 || took > 10*time.Second {
			t.Errorf("%s: %d MiB allocated in %v: the images were decoded", tc.name, alloc>>20, took)
		}
	}
	// The link is still live: nothing above counted as an ID check.
	r.env.Do(t, "", http.MethodGet, "/api/v1/sign/"+token, nil, nil).Must(t, http.StatusOK)
}

// concurrentIDChecks sends 100 tries of a link's ID check at once, the
// right answer 56th and held back until five answers are in: exactly
// five are checked, the rest find the link void, the right answer
// included.
func concurrentIDChecks(t *testing.T, r *attackRun) {
	token, docID, last4 := signingLink(t, r)
	wrong := "0000"
	if last4 == wrong {
		wrong = "1111"
	}
	png := signaturePNG(t, 7)
	const right = 55
	var answers atomic.Int32
	fiveIn := make(chan struct{})
	statuses, bodies := burst(t, r, 100, http.MethodPost, "/api/v1/sign/"+token, func(i int) []byte {
		k := wrong
		if i == right {
			k = last4
		}
		b, _ := json.Marshal(map[string]string{"image_png": png, "id_last4": k})
		return b
	}, func(i int) {
		if i == right {
			<-fiveIn
		}
	}, func(i int) {
		if i != right && answers.Add(1) == 5 {
			close(fiveIn)
		}
	})
	checked := 0
	for i, b := range bodies {
		if statuses[i] == http.StatusUnprocessableEntity && strings.Contains(string(b), `"field":"id_last4"`) {
			checked++
		}
	}
	t.Logf("100 tries at once: %v; %d checked; the right answer (try %d): %d %s", count(statuses), checked, right+1, statuses[right], snippet(bodies[right], 160))
	if checked != 5 {
		t.Errorf("%d tries were checked, want exactly 5", checked)
	}
	if c := count(statuses); c[http.StatusOK] != 0 || c[http.StatusNotFound] != 95 {
		t.Errorf("answers %v, want 5 × 422 and 95 × 404", c)
	}
	var failures int
	if err := r.owner.QueryRow(t.Context(), `SELECT failures FROM sign_links WHERE document_id = $1`, docID).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 5 {
		t.Errorf("the link counted %d failures, want 5", failures)
	}
}

// filler is an endless run of one byte.
type filler byte

func (f filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

// onlyReader hides a body's length, so the client sends it chunked.
type onlyReader struct{ io.Reader }

// bodyLimits re-runs finding 5: huge bodies to the sign-in form, claimed
// or streamed, multipart or url-encoded, are refused with 413 before any
// parsing, and nothing is written to the temporary directory; the other
// public routes have their limits too.
func bodyLimits(t *testing.T, r *attackRun) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where a parsed multipart body would spool its files
	client := &http.Client{Timeout: 60 * time.Second}
	const mp = "multipart/form-data; boundary=XyZ"
	head := "--XyZ\r\nContent-Disposition: form-data; name=\"username\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	tail := "\r\n--XyZ--\r\n"
	stream := func(n int64) io.Reader {
		return io.MultiReader(strings.NewReader(head), io.LimitReader(filler('a'), n), strings.NewReader(tail))
	}
	post := func(what, path, ctype string, body io.Reader, size int64, want int, wantText string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, r.env.Server.URL+path, body)
		req.ContentLength = size
		req.Header.Set("Content-Type", ctype)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s: %d in %v", what, resp.StatusCode, time.Since(start).Round(time.Millisecond))
		if resp.StatusCode >= 500 {
			r.a.fives = append(r.a.fives, fmt.Sprintf("[limits] %s -> %d %s", what, resp.StatusCode, snippet(b, 200)))
		}
		if resp.StatusCode != want || !strings.Contains(string(b), wantText) {
			t.Errorf("%s: %d %s, want %d with %q", what, resp.StatusCode, snippet(b, 300), want, wantText)
		}
	}
	const big = 70 << 20
	post("70 MB multipart sign-in, size declared", "/login", mp, stream(big), int64(len(head)+big+len(tail)), 413, "提交内容过多")
	post("70 MB multipart sign-in, chunked", "/login", mp, onlyReader{stream(big)}, -1, 422, "不接受上传文件")
	post("10 MB url-encoded sign-in", "/login", "application/x-www-form-urlencoded",
		io.MultiReader(strings.NewReader("username="), io.LimitReader(filler('a'), 10<<20)), 9+10<<20, 413, "提交的内容过多")
	post("10 MB url-encoded sign-in, chunked", "/login", "application/x-www-form-urlencoded",
		onlyReader{io.MultiReader(strings.NewReader("username="), io.LimitReader(filler('a'), 10<<20))}, -1, 413, "提交的内容过多")
	post("API sign-in over 64 KiB", "/api/v1/login", "application/json",
		strings.NewReader(`{"username":"`+strings.Repeat("a", 70<<10)+`","password":"x"}`), -1, 413, "提交的内容过多")
	post("tracking evaluation over 64 KiB", "/api/v1/track/ABCDEFGH/evaluation", "application/json",
		strings.NewReader(`{"comment":"`+strings.Repeat("a", 70<<10)+`"}`), -1, 413, "提交的内容过多")
	post("signature over 1 MiB", "/api/v1/sign/"+strings.Repeat("Zq9", 14), "application/json",
		strings.NewReader(`{"image_png":"`+strings.Repeat("A", 2<<20)+`"}`), -1, 413, "签名图片过大，请清除后重签")

	// The review's request: 600 MiB claimed, a few bytes sent. The answer
	// comes at once, without waiting for the rest.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(r.env.Server.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", mp, 600<<20, head)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Errorf("600 MiB claimed: no answer: %v", err)
	} else {
		resp.Body.Close()
		t.Logf("600 MiB claimed, %d bytes sent: %d", len(head), resp.StatusCode)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("600 MiB claimed: %d, want 413", resp.StatusCode)
		}
	}

	var spooled int64
	_ = filepath.Walk(tmp, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			spooled += fi.Size()
		}
		return nil
	})
	if spooled > 0 {
		t.Errorf("the temporary directory grew by %d bytes", spooled)
	}
}

// oddInput re-runs finding 8: a 3,000-character username, and invalid
// UTF-8 or NUL bytes in the sign-in form, the desk's search, a user's name
// or a matter's code, and in every path parameter of every route, are
// each a 422 that names the field, never a 500.
func oddInput(t *testing.T, r *attackRun) {
	long := strings.Repeat("a", 3000)
	for _, u := range []string{long, "a\x00b", strings.Repeat("办", 1000)} {
		res, _ := r.a.send(t, "odd", http.MethodPost, "/api/v1/login", attackJSON(t, map[string]string{"username": u, "password": "wrong-password"}), nil)
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), `"field":"username"`) {
			t.Errorf("API sign-in with username %q…: %d %s, want 422 on username", snippet([]byte(u), 8), res.status, snippet(res.body, 200))
		}
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, body := range []string{"username=%ff&password=x", "username=a%00&password=x", "username=x&password=%ff%fe"} {
		res, _ := r.a.send(t, "odd", http.MethodPost, "/login", []byte(body), form)
		if res.status != http.StatusUnprocessableEntity || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
			t.Errorf("web sign-in %s: %d %s, want a 422 page", body, res.status, res.header.Get("Content-Type"))
		}
	}
	// A sign-in page check ahead of the form's fields (the pre-session
	// CSRF token) may refuse it first; either way it is refused unhashed.
	if res, _ := r.a.send(t, "odd", http.MethodPost, "/login", []byte("username="+long+"&password=x"), form); res.status != http.StatusUnprocessableEntity && res.status != http.StatusForbidden {
		t.Errorf("web sign-in with a 3,000-character username: %d, want 422", res.status)
	}
	bad := []string{"%FF", "%ff%fe", "a%00b"}
	for _, v := range bad {
		for _, p := range []string{"/desk?q=" + v, "/api/v1/users/" + v, "/api/v1/matters/" + v, "/api/v1/cases?q=" + v, "/track/" + v, "/verify?key=" + v} {
			if res, _ := r.a.send(t, "odd", http.MethodGet, p, nil, attackAuth(r.county)); res.status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d %s, want 422", p, res.status, snippet(res.body, 200))
			}
		}
	}
	// Every parameter of every route, and a query string on every route,
	// with a session of its own (the routes include the sign-out).
	r.env.User(t, "x.odd", "county_agent", "370323")
	tok := r.env.Token(t, "x.odd")
	for _, rt := range r.env.App.HTTP.Routes() {
		for _, v := range bad {
			var p string
			if strings.ContainsAny(rt.Path, ":*") {
				parts := strings.Split(rt.Path, "/")
				for i, part := range parts {
					if strings.HasPrefix(part, ":") || part == "*" {
						parts[i] = v
					}
				}
				p = strings.Join(parts, "/")
			} else {
				p = rt.Path + "?" + url.QueryEscape("q") + "=" + v
			}
			h := attackAuth(tok)
			h["If-Match"] = `"1"`
			res, ok := r.a.send(t, "odd", rt.Method, p, attackBody(rt.Method), h)
			if ok && res.status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d %s, want 422", rt.Method, p, res.status, snippet(res.body, 200))
			}
		}
	}
}
