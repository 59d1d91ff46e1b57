package httpapi

import (
	"net/http/httptest"
	"testing"
)

// TestClientIP: the client address is the connection's peer unless that
// peer is a trusted proxy; then the rightmost X-Forwarded-For hop that is
// not a trusted proxy. Hops the client wrote itself never count.
func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies(" 10.0.0.5, 10.1.0.0/16,::1 ")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0", "proxy.local", "10.0.0.0/33"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	cases := []struct {
		name, peer, xff string
		trusted         bool
		want            string
	}{
		{"no proxies configured: header ignored", "10.0.0.5", "203.0.113.9", false, "10.0.0.5"},
		{"untrusted peer: spoofed header ignored", "198.51.100.1", "203.0.113.9", true, "198.51.100.1"},
		{"untrusted loopback peer", "127.0.0.1", "203.0.113.9", true, "127.0.0.1"},
		{"trusted proxy: the client it saw", "10.0.0.5", "203.0.113.9", true, "203.0.113.9"},
		{"client's own entries left of the proxy's", "10.0.0.5", "1.2.3.4, 192.168.1.1, 203.0.113.9", true, "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.5", "203.0.113.9, 10.1.2.3", true, "203.0.113.9"},
		{"trusted proxy, no header", "10.0.0.5", "", true, "10.0.0.5"},
		{"IPv6 proxy", "::1", "2001:db8::7", true, "2001:db8::7"},
	}
	for _, c := range cases {
		var list = trusted
		if !c.trusted {
			list = nil
		}
		req := httptest.NewRequest("POST", "/api/v1/login", nil)
		req.RemoteAddr = c.peer + ":4711"
		if c.peer == "::1" {
			req.RemoteAddr = "[::1]:4711"
		}
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientIP(list)(req); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
