package httpapi

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"
)

// ParseTrustedProxies reads DAIBAN_TRUSTED_PROXIES: comma-separated IP
// addresses and CIDR ranges of the reverse proxies in front of the server.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	out, err := ParseAllowList(s)
	if err != nil {
		return nil, fmt.Errorf("DAIBAN_TRUSTED_PROXIES: %w", err)
	}
	return out, nil
}

// ClientIP returns how the server finds a request's client address: the
// connection's peer, unless that peer is one of the trusted proxies; then
// X-Forwarded-For is read from the right, skipping trusted proxies, and
// the first hop that is not one is the client. Entries left of it were
// written by the client and are ignored, so a spoofed header buys nothing.
// Without trusted proxies the header is never read.
//
// It is echo's X-Forwarded-For extractor with echo's defaults (trust
// loopback, link-local and private networks) turned off: only the
// configured ranges are trusted.
func ClientIP(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// TrustProxies makes the server take client addresses through the trusted
// proxies (see ClientIP). Call it before serving.
func (s *Server) TrustProxies(trusted []netip.Prefix) {
	s.Echo.IPExtractor = ClientIP(trusted)
}
