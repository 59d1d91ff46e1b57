package httpapi

import (
	"fmt"
	"strings"
)

// ContentDisposition is the Content-Disposition of a download: kind is
// "inline" or "attachment", ascii the file name for old clients and name
// the Chinese one (RFC 6266 filename*, UTF-8, percent-encoded), which
// browsers prefer.
func ContentDisposition(kind, ascii, name string) string {
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, kind, ascii, extValue(name))
}

// extValue percent-encodes s for an RFC 8187 ext-value.
func extValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
