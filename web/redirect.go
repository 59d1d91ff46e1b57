package web

import (
	"net/url"
	"strings"
)

// maxLocalPath bounds a next= or back= value: no page of this site has a
// longer address.
const maxLocalPath = 2048

// localPath reports whether s is a path on this site, safe to send a
// browser to after sign-in (?next=) or after a form (back=): it starts
// with one "/", holds no control character or backslash anywhere (browsers
// drop tabs and line breaks and read "\" as "/", so "/\t/evil.example"
// and "/\evil.example" lead off-site), does not start with "//", and
// parses as a relative URL with no scheme and no host. The decoded path
// is held to the same rules, so "/%2f%2fevil.example" and "/%09/…" are
// refused too, whatever a proxy in between decodes.
func localPath(s string) bool {
	if len(s) > maxLocalPath || !plainPath(s) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	return plainPath(u.Path)
}

// plainPath reports whether s starts with a single "/" and holds no
// control character (below 0x20, or DEL) and no backslash.
func plainPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return false
		}
	}
	return true
}
