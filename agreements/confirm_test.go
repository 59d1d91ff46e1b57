package agreements

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/daiban/daiban"
)

// TestConfirmationRule checks the one rule the page, the script and the
// API share: by the kind of document, ignoring case.
func TestConfirmationRule(t *testing.T) {
	t.Parallel()
	const (
		idCard = "370323199001011237"
		idX    = "37032319900101123X"
		credit = "91370323MA3C6A1L17"
	)
	tests := []struct {
		name, kind, typed, number string
		want                      string // "ok", "wrong" (counted) or "refused" (the hint, not counted)
	}{
		{"ID card digits", "person", "1237", idCard, "ok"},
		{"ID card X upper", "person", "123X", idX, "ok"},
		{"ID card x lower", "person", "123x", idX, "ok"},
		{"ID card spaces around", "person", " 1237 ", idCard, "ok"},
		{"ID card wrong digits", "person", "1238", idCard, "wrong"},
		{"ID card letter refused", "person", "1L17", idCard, "refused"},
		{"ID card X only at the end", "person", "X237", idCard, "refused"},
		{"ID card three characters", "person", "237", idCard, "refused"},
		{"credit code upper", "enterprise", "1L17", credit, "ok"},
		{"credit code lower", "enterprise", "1l17", credit, "ok"},
		{"credit code wrong", "enterprise", "1L18", credit, "wrong"},
		{"credit code I refused", "enterprise", "1I17", credit, "refused"},
		{"credit code O refused", "enterprise", "1O17", credit, "refused"},
		{"credit code S V Z refused", "enterprise", "SVZ1", credit, "refused"},
		{"credit code punctuation refused", "enterprise", "1-17", credit, "refused"},
		{"credit code five characters", "enterprise", "A1L17", credit, "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ConfirmationFor(tc.kind)
			err := c.Check(tc.typed, tc.number)
			got := "ok"
			switch {
			case errors.Is(err, errWrongID):
				got = "wrong"
			case err != nil:
				got = "refused"
				if daiban.ErrorField(err) != "id_last4" || daiban.ErrorMessage(err) != c.Hint {
					t.Errorf("refusal %v, want the hint on id_last4", err)
				}
			}
			if got != tc.want {
				t.Errorf("%s %q against %s: %s, want %s", tc.kind, tc.typed, tc.number, got, tc.want)
			}
		})
	}
}

// TestConfirmationLabels: labelled by kind, and the pattern the page
// carries is exactly the API's (anchored), with both cases of every letter
// of the credit code's alphabet and none of I, O, S, V, Z.
func TestConfirmationLabels(t *testing.T) {
	t.Parallel()
	if l := ConfirmationFor("person").Label; l != "身份证号码后四位" {
		t.Errorf("person label %q", l)
	}
	if l := ConfirmationFor("enterprise").Label; l != "统一社会信用代码后四位" {
		t.Errorf("enterprise label %q", l)
	}
	re := regexp.MustCompile("^(?:" + ConfirmationFor("enterprise").Pattern + ")$")
	for _, r := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		s := strings.Repeat(string(r), 4)
		want := !strings.ContainsRune("IOSVZ", r)
		if re.MatchString(s) != want || re.MatchString(strings.ToLower(s)) != want {
			t.Errorf("credit code pattern on %q: want %v", s, want)
		}
	}
}
