package app_test

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestPublicRoutesRateLimited hammers the public routes from one address
// with the default limit (10 a second, bursts of 40): the burst is served,
// the rest gets 429 too_many_requests with Retry-After and the error
// envelope; routes that do not exist yet under a public prefix (/guide,
// /appointments) are limited as well; signed-in routes are not. It logs
// what the hammering client saw.
func TestPublicRoutesRateLimited(t *testing.T) {
	t.Parallel()
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Public: app.PublicOptions{RatePerSecond: 10, RateBurst: 40}})
	env.User(t, "r.town", "township_agent", "370323001")
	tok := env.Token(t, "r.town")
	// What a client hammering with 8 connections for 3 seconds sees.
	var ok, limited, other atomic.Int64
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				resp, err := http.Get(env.Server.URL + "/ledger/key")
				if err != nil {
					other.Add(1)
					continue
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() > 40+3*10+5 || ok.Load() < 40 || limited.Load() == 0 || other.Load() != 0 {
		t.Fatalf("hammering 3 s: %d served, %d refused, %d other", ok.Load(), limited.Load(), other.Load())
	}
	t.Logf("hammering /ledger/key 3 s with 8 connections: %d served (burst 40 + 10/s), %d answered 429 (%.0f/s)",
		ok.Load(), limited.Load(), float64(limited.Load())/3)
	// Each check below first empties the bucket (it refills 10 a second).
	drain := func() {
		for env.Do(t, "", http.MethodGet, "/ledger/key", nil, nil).Status != http.StatusTooManyRequests {
		}
	}
	drain()
	r := env.Do(t, "", http.MethodGet, "/ledger/checkpoint", nil, nil)
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "too_many_requests" {
		t.Fatalf("over the limit: %d %s", r.Status, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	for _, p := range []string{"/guide/SP001", "/api/v1/guides/SP001", "/appointments", "/api/v1/appointments/slots", "/verify/00", "/sign/x"} {
		// A slow moment between draining and asking refills a token (10 a
		// second): a route under the limit answers 429 within a few tries,
		// one outside it never does.
		status := 0
		for try := 0; try < 5 && status != http.StatusTooManyRequests; try++ {
			drain()
			status = env.Do(t, "", http.MethodGet, p, nil, nil).Status
		}
		if status != http.StatusTooManyRequests {
			t.Errorf("%s over the limit: %d", p, status)
		}
	}
	drain()
	env.Do(t, tok, http.MethodGet, "/api/v1/me", nil, nil).Must(t, 200)
}
