package cases_test

import (
	"strings"
	"testing"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
)

// FuzzParseBody: every action's body decoder never panics, refuses with
// EINVALID and a message, and returns a body for what it accepts.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"note":"已电话告知"}`, `{"note":1}`, `{"bogus":1}`, `{}{}`, `[`,
		`{"result":"accept","materials":[{"code":"id_card","received":true,"original":true,"pages":1}]}`,
		`{"materials":[{"code":"x","pages":"1"}]}`, `{"agent":"wang","note":""}`,
		`{"note":"n","step":"s","notify_applicant":true}`,
		`{"level":"city","authority":"市局","tracker":"T1","reply_due":"2026-01-02","note":""}`,
		`{"outcome":"approved"}`, `{"reason":"申请人要求"}`, `{"items":[{"kind":"licence","name":"许可证","number":"1"}]}`,
		`{"reason":"r","by":"applicant"}`, `{"rating":5,"comment":"好"}`, `{"rating":1.5}`, `{"rating":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, a := range cases.Actions {
			b, err := cases.ParseBody(a, data)
			if err != nil {
				if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorMessage(err) == "" {
					t.Fatalf("%s %q: %v", a, data, err)
				}
				continue
			}
			if b == nil {
				t.Fatalf("%s %q: nil body without error", a, data)
			}
		}
		if _, err := cases.ParseBody(string(data), []byte(`{}`)); err == nil {
			for _, a := range cases.Actions {
				if a == string(data) {
					return
				}
			}
			t.Fatalf("unknown action %q accepted", data)
		} else if daiban.ErrorCode(err) != daiban.EINVALID {
			t.Fatalf("unknown action %q: %v", data, err)
		}
	})
}

// FuzzCaseValidation: the ID and credit code checks never panic, and the
// masks keep the length and never show more than 8 (ID) or 7 (phone)
// of the original bytes.
func FuzzCaseValidation(f *testing.F) {
	for _, s := range []string{
		"", "1", "12345678", "123456789", "11010519491231002X", "11010519491231002x", "110105194912310021",
		"91350100M000100Y43", "91350100m000100y43", "9135010OM000100Y43", "13812341201", "0531-88886666",
		"身份证号码是一个很长的中文字符串", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0\xef\xee",
		"1101051949::31002X", "11010519491/31002X",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cases.ValidIDNumber(s) {
			if len(s) != 18 {
				t.Fatalf("ID %q of length %d accepted", s, len(s))
			}
			for i := 0; i < 17; i++ {
				if s[i] < '0' || s[i] > '9' {
					t.Fatalf("ID %q with a non-digit accepted", s)
				}
			}
			if c := s[17]; !(c >= '0' && c <= '9' || c == 'X' || c == 'x') {
				t.Fatalf("ID %q with check %q accepted", s, c)
			}
		}
		if cases.ValidCreditCode(s) && len(s) != 18 {
			t.Fatalf("credit code %q of length %d accepted", s, len(s))
		}
		checkMask(t, "MaskID", s, cases.MaskID(s), 8)
		checkMask(t, "MaskPhone", s, cases.MaskPhone(s), 7)
	})
}

func checkMask(t *testing.T, name, in, out string, maxShown int) {
	t.Helper()
	if len(out) != len(in) {
		t.Fatalf("%s(%q) = %q: length %d, want %d", name, in, out, len(out), len(in))
	}
	shown := 0
	for i := 0; i < len(out); i++ {
		if out[i] == '*' {
			continue
		}
		if out[i] != in[i] {
			t.Fatalf("%s(%q) = %q: byte %d is neither the original nor *", name, in, out, i)
		}
		shown++
	}
	if shown > maxShown {
		t.Fatalf("%s(%q) = %q shows %d bytes, at most %d", name, in, out, shown, maxShown)
	}
	if len(in) > 0 && strings.Count(out, "*") == 0 && strings.Count(in, "*") != len(in) {
		t.Fatalf("%s(%q) = %q masks nothing", name, in, out)
	}
}
