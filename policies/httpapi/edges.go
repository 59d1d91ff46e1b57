package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/daiban/daiban"
)

// hstsMaxAge is a year: browsers that once reached the site over HTTPS
// keep to HTTPS.
const hstsMaxAge = "max-age=31536000"

// Headers sets what every response carries, whatever its route and
// status: nothing is cached (API answers, documents, exports and pages
// hold personal data; a shared computer's cache or a proxy must not keep
// them), no content type is sniffed (a PDF or CSV is never run as HTML),
// and over HTTPS, Strict-Transport-Security. The embedded static files
// (style, scripts) are the only ones a cache may keep.
//
// The site counts as served over HTTPS when the request came over TLS or
// when its public address (baseURL, DAIBAN_BASE_URL) is https: a proxy in
// front ends TLS and the request reaches here as plain HTTP. Install it
// on the server's Echo before any route answers.
func Headers(baseURL string) echo.MiddlewareFunc {
	https := strings.HasPrefix(strings.ToLower(baseURL), "https://")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r, h := c.Request(), c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			if !strings.HasPrefix(r.URL.Path, "/static/") {
				h.Set("Cache-Control", "no-store")
			}
			if r.TLS != nil || https {
				h.Set("Strict-Transport-Security", hstsMaxAge)
			}
			return next(c)
		}
	}
}

// loopback always may read the metrics.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ParseAllowList reads a comma-separated list of IP addresses and CIDR
// networks (DAIBAN_METRICS_ALLOW), e.g. "10.0.0.5, 192.168.1.0/24".
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q 不是 IP 地址或网段（如 10.0.0.5 或 10.0.0.0/24）", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Allowed reports whether the client address ip (as echo's RealIP gives
// it) is the loopback or inside one of allow.
func Allowed(ip string, allow []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range append(loopback, allow...) {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// MetricsRoute serves Prometheus metrics from g to the loopback and the
// addresses in allow only; anyone else is told there is no such page.
// The client address is the server's (its IP extractor), never a header
// anyone can send.
func MetricsRoute(g prometheus.Gatherer, allow []netip.Prefix) Route {
	h := echo.WrapHandler(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return Route{Method: http.MethodGet, Path: "/metrics", Public: true, Handler: func(c echo.Context) error {
		if !Allowed(c.RealIP(), allow) {
			return daiban.Errorf(daiban.ENOTFOUND, "未找到")
		}
		return h(c)
	}}
}
