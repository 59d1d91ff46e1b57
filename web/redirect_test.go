package web

import (
	"strings"
	"testing"
)

// TestLocalPath holds next= and back= to paths on this site, including
// the tricks browsers turn into another host: dropped tabs and line
// breaks, backslashes read as slashes, and encoded slashes.
func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"/desk", true},
		{"/", true},
		{"/desk?all=1&q=%E7%8E%8B", true},
		{"/cases/12#materials", true},
		{"/track/ABCDEF123456", true},
		{"", false},
		{"desk", false},
		{"//evil.example/", false},
		{"///evil.example/", false},
		{`/\evil.example`, false},
		{`/\/evil.example`, false},
		{`\\evil.example`, false},
		{`/desk\..\..\evil`, false},
		{"/\t/evil.example/x", false}, // finding 4: the browser drops the tab
		{"/\n/evil.example", false},
		{"/\r\n/evil.example", false},
		{"/\x00/evil.example", false},
		{"/\x7f/evil.example", false},
		{"/ /evil.example", true}, // a space is kept by browsers: a path on this site
		{"/%09/evil.example", false},
		{"/%0a/evil.example", false},
		{"/%2f%2fevil.example", false},
		{"/%2F/evil.example", false},
		{"/%5cevil.example", false},
		{"/%5c%5cevil.example", false},
		{"https://evil.example/", false},
		{"http:/evil.example", false},
		{"javascript:alert(1)", false},
		{"/javascript:alert(1)", true}, // a path on this site named so
		{"//user@evil.example", false},
		{"/%zz", false}, // does not parse
		{"/" + strings.Repeat("a", maxLocalPath), false},
	} {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
