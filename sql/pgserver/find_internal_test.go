package pgserver

import "testing"

func TestParseVersionOutput(t *testing.T) {
	for in, want := range map[string]string{
		"postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n": "15.18",
		"postgres (PostgreSQL) 9.6.24\n":                         "9.6.24",
		"postgres (PostgreSQL) 17devel\n":                        "17",
	} {
		got, err := parseVersionOutput(in)
		if err != nil || got != want {
			t.Errorf("parseVersionOutput(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := parseVersionOutput("something else"); err == nil {
		t.Error("parseVersionOutput accepted garbage")
	}
}

func TestMajorVersion(t *testing.T) {
	for in, want := range map[string]string{"15.18": "15", "9.6.24": "9.6", "17": "17", "10.1": "10"} {
		if got := majorVersion(in); got != want {
			t.Errorf("majorVersion(%q) = %q, want %q", in, got, want)
		}
	}
	if !majorAtLeast("15.2", 14) || majorAtLeast("13.9", 14) || majorAtLeast("9.6.1", 14) {
		t.Error("majorAtLeast wrong")
	}
}

func TestCompareVersions(t *testing.T) {
	a, _ := parseVersion("9.6")
	b, _ := parseVersion("15")
	if compareVersions(a, b) >= 0 || compareVersions(b, a) <= 0 || compareVersions(b, b) != 0 {
		t.Error("compareVersions wrong")
	}
}
