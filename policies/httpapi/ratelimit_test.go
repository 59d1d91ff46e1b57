package httpapi

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestRateLimiterCoversPrefixes(t *testing.T) {
	t.Parallel()
	l := NewRateLimiter(PublicPrefixes, 1, 1)
	for path, want := range map[string]bool{
		"/track/ABC": true, "/verify/00ff": true, "/sign/tok": true, "/ledger/tile/0/000": true,
		"/guide/SP001": true, "/guide/SP001.pdf": true, "/appointments": true, "/copy/x": true,
		"/api/v1/track/ABC": true, "/api/v1/verify/00": true, "/api/v1/sign/t": true, "/api/v1/guides/SP001": true,
		"/api/v1/appointments/slots": true, "/api/v1/appointments/AB12/confirm": true, "/api/v1/ledger/checkpoint": true,
		"/api/v1/cases": false, "/login": false, "/trackers": false, "/static/app.css": false, "/healthz": false,
	} {
		if got := l.Covers(path); got != want {
			t.Errorf("Covers(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestRateLimiterBoundedMemory: however many addresses call, no more than
// MaxAddresses are remembered; idle ones are forgotten. It logs the memory
// one remembered address costs.
func TestRateLimiterBoundedMemory(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewRateLimiter(PublicPrefixes, 10, 40)
	l.now = func() time.Time { return now }
	l.MaxAddresses = 25_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100_000 {
		if wait := l.reserve(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)); wait != 0 {
			t.Fatalf("a new address waits %v", wait)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := l.Addresses(); n > l.MaxAddresses {
		t.Fatalf("%d addresses remembered, cap %d", n, l.MaxAddresses)
	}
	t.Logf("100,000 addresses, cap 25,000: %d remembered, heap +%.1f MB (%.0f bytes each)",
		l.Addresses(), float64(after.HeapAlloc-before.HeapAlloc)/1e6, float64(after.HeapAlloc-before.HeapAlloc)/float64(l.Addresses()))
	now = now.Add(l.Idle + 2*time.Minute)
	l.reserve("192.0.2.1")
	if n := l.Addresses(); n != 1 {
		t.Fatalf("after the idle period %d addresses remembered, want 1", n)
	}
}

// TestRateLimiterRetryAfter: a burst passes, the next request waits about
// one interval, and a waiting request takes no token.
func TestRateLimiterRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	l := NewRateLimiter(PublicPrefixes, 2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if w := l.reserve("a"); w != 0 {
			t.Fatalf("request %d of the burst waits %v", i, w)
		}
	}
	if w := l.reserve("a"); w < 400*time.Millisecond || w > 500*time.Millisecond {
		t.Fatalf("over the burst: wait %v, want 0.5 s", w)
	}
	if w := l.reserve("b"); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	now = now.Add(500 * time.Millisecond)
	if w := l.reserve("a"); w != 0 {
		t.Fatalf("after the wait: %v", w)
	}
}
