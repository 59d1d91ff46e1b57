package faults_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daiban/daiban/agreements/pdf/pngtest"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// flatPNG is a w×h flat RGBA PNG of the given bit depth, as small on the
// wire as the review's (see pngtest.Flat).
func flatPNG(tb testing.TB, w, h int, depth byte) []byte {
	tb.Helper()
	return pngtest.Flat(w, h, depth, pngtest.RGBA)
}

// procStatus reads a "VmXXX:  123 kB" line of /proc/pid/status, in bytes.
func procStatus(t *testing.T, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// flood posts body to path n times at once, as bearer when set, and
// counts the statuses.
func flood(t *testing.T, base, path, bearer string, n int, body []byte) (map[int]int, time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 120 * time.Second}
	var mu sync.Mutex
	counts := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			resp, err := client.Do(req)
			status := 0
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			mu.Lock()
			counts[status]++
			mu.Unlock()
		}()
	}
	begin := time.Now()
	close(start)
	wg.Wait()
	return counts, time.Since(begin)
}

// TestImageFloodPeakRSS re-runs the review's finding 1 against a real
// "daiban serve": 32 small 16-bit 3000×3000 PNGs at once to a made-up
// signing link (all 404, before a byte of the body is read), then to a
// live link with the right ID number (all 422, from the header), then 32
// of the largest images accepted (8-bit, just under 2 megapixels), which
// are decoded, but only as many at a time as documents render; the
// same images as the agent's own signature, 32 at once, likewise. The
// server's peak resident set (VmHWM) stays under 200 MiB throughout; the
// review saw 5.6 GB. The server runs with GOMAXPROCS=2, so its rendering
// bound, and the figure, are the same on any machine.
func TestImageFloodPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	bin := buildDaiban(t)
	url := pgtest.NewDatabase(t, apptest.Template(t))
	agents := makeAgents(t, url, 1)
	d := newDaiban(t, bin, url)
	d.env = withEnv(d.env, "GOMAXPROCS", "2")
	// The flood comes from one address: lift the public routes' per-address
	// limit so every image reaches the decoder (the bound measured here is
	// the server's, not the limiter's, which would answer most with 429).
	d.env = withEnv(d.env, "DAIBAN_PUBLIC_RATE", "100000")
	d.env = withEnv(d.env, "DAIBAN_PUBLIC_BURST", "100000")
	d.start(t)
	pid := d.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := "http://" + d.addr
	c, err := login(ctx, base, agents[0])
	if err != nil {
		t.Fatal(err)
	}
	id, token, p := agreementPending(ctx, t, c, agents[0], 4)
	last4 := p.IDNumber[len(p.IDNumber)-4:]
	t.Logf("server after start-up and one agreement: VmRSS %d MiB, VmHWM %d MiB", procStatus(t, pid, "VmRSS")>>20, procStatus(t, pid, "VmHWM")>>20)

	body := func(img []byte) []byte {
		b, _ := json.Marshal(map[string]string{"image_png": base64.StdEncoding.EncodeToString(img), "id_last4": last4})
		return b
	}
	attack := body(flatPNG(t, 3000, 3000, 16))
	largestPNG := flatPNG(t, 1400, 1400, 8)
	largest := body(largestPNG)
	agentBody, _ := json.Marshal(map[string]string{"image_png": base64.StdEncoding.EncodeToString(largestPNG)})
	for _, tc := range []struct {
		name, path, bearer string
		body               []byte
		want               func(map[int]int) bool
	}{
		// The agent's own signature has no link or ID check in front of
		// its decoding: only the bound keeps 32 decodings from running at
		// once (without it this one peaks at about 500 MiB).
		{"8-bit 1400×1400 agent signatures", fmt.Sprintf("/api/v1/cases/%d/agreement/signatures", id), c.token, agentBody,
			func(m map[int]int) bool { return m[http.StatusOK] == 32 }},
		{"16-bit 3000×3000 to a made-up link", "/api/v1/sign/" + strings.Repeat("Zq9", 14), "", attack,
			func(m map[int]int) bool { return m[http.StatusNotFound] == 32 }},
		{"16-bit 3000×3000 to a live link", "/api/v1/sign/" + token, "", attack,
			func(m map[int]int) bool { return m[http.StatusUnprocessableEntity] == 32 }},
		{"8-bit 1400×1400 to a live link", "/api/v1/sign/" + token, "", largest,
			func(m map[int]int) bool { return m[http.StatusOK] == 1 && m[http.StatusNotFound] == 31 }},
	} {
		counts, took := flood(t, base, tc.path, tc.bearer, 32, tc.body)
		hwm := procStatus(t, pid, "VmHWM")
		t.Logf("%s (%d bytes each), 32 at once: %v in %v; server VmHWM %d MiB", tc.name, len(tc.body), counts, took.Round(time.Millisecond), hwm>>20)
		if !tc.want(counts) {
			t.Errorf("%s: answers %v", tc.name, counts)
		}
		if hwm > 200<<20 {
			t.Errorf("%s: server peak RSS %d MiB, want under 200 MiB", tc.name, hwm>>20)
		}
	}
}
