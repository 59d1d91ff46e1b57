package httpapi

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/daiban/daiban"
)

// PublicPrefixes are the public routes limited per client address
// (DESIGN "Rate limits"): the pages and their /api/v1 forms. A prefix
// covers the path itself and everything below it, so a route added later
// under one of them is limited without being listed.
var PublicPrefixes = []string{
	"/track", "/verify", "/sign", "/ledger", "/guide", "/appointments", "/copy",
	"/api/v1/track", "/api/v1/verify", "/api/v1/sign", "/api/v1/ledger", "/api/v1/guides", "/api/v1/guide",
	"/api/v1/appointments", "/api/v1/copy",
}

// RateLimiter limits requests per client address (echo's RealIP, which
// follows only the trusted proxies, see ClientIP) with one token bucket
// (golang.org/x/time/rate) per address. Addresses idle for longer than
// Idle are forgotten, and no more than MaxAddresses are kept, so memory
// stays bounded however many addresses call.
type RateLimiter struct {
	prefixes []string
	limit    rate.Limit
	burst    int
	// Idle is how long an address is remembered after its last request;
	// MaxAddresses caps how many are remembered at once.
	Idle         time.Duration
	MaxAddresses int
	now          func() time.Time

	mu        sync.Mutex
	visitors  map[string]*visitor
	lastSweep time.Time
}

type visitor struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter allows perSecond requests a second on average and burst
// at once per address, on paths under prefixes.
func NewRateLimiter(prefixes []string, perSecond float64, burst int) *RateLimiter {
	return &RateLimiter{prefixes: prefixes, limit: rate.Limit(perSecond), burst: burst,
		Idle: 3 * time.Minute, MaxAddresses: 100_000, now: time.Now, visitors: map[string]*visitor{}}
}

// Covers tells whether path is under one of the limiter's prefixes.
func (l *RateLimiter) Covers(path string) bool {
	for _, p := range l.prefixes {
		if strings.HasPrefix(path, p) && (len(path) == len(p) || path[len(p)] == '/' || path[len(p)] == '.') {
			return true
		}
	}
	return false
}

// Middleware answers 429 too_many_requests, with Retry-After in whole
// seconds, to an address over its limit on a covered path.
func (l *RateLimiter) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !l.Covers(c.Request().URL.Path) {
				return next(c)
			}
			if wait := l.reserve(c.RealIP()); wait > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				return daiban.Errorf(daiban.ETOOMANYREQUESTS, "请求过于频繁，请 %d 秒后再试", int(math.Ceil(wait.Seconds())))
			}
			return next(c)
		}
	}
}

// reserve takes a token for addr and returns 0, or how long until one is
// free (taking none).
func (l *RateLimiter) reserve(addr string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.visitors[addr]
	if !ok {
		l.makeRoom(now)
		v = &visitor{lim: rate.NewLimiter(l.limit, l.burst)}
		l.visitors[addr] = v
	}
	v.seen = now
	r := v.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// makeRoom forgets idle addresses (once a minute; once a second while the
// map is full, so a flood costs no full scan per request) and, when still
// full, one arbitrary address: a full map can
// only come from a flood of addresses, and whichever is dropped starts
// again with a full bucket.
func (l *RateLimiter) makeRoom(now time.Time) {
	full := len(l.visitors) >= l.MaxAddresses
	if now.Sub(l.lastSweep) > time.Minute || (full && now.Sub(l.lastSweep) > time.Second) {
		for a, v := range l.visitors {
			if now.Sub(v.seen) > l.Idle {
				delete(l.visitors, a)
			}
		}
		l.lastSweep = now
	}
	for a := range l.visitors {
		if len(l.visitors) < l.MaxAddresses {
			break
		}
		delete(l.visitors, a)
	}
}

// Addresses is how many addresses the limiter remembers.
func (l *RateLimiter) Addresses() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.visitors)
}
