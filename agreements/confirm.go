package agreements

import (
	"regexp"
	"strings"

	"github.com/daiban/daiban"
)

// Confirmation is what the applicant types on the tablet to confirm a
// signature: the last four characters of the document the case was
// registered with. One value per applicant kind holds the whole rule: the
// page puts Pattern into the field's pattern attribute, sign.js tests the
// field against that same attribute, and Sign checks it here, so the three
// can never disagree.
type Confirmation struct {
	// Kind is the applicant kind: "person" or "enterprise".
	Kind string `json:"kind"`
	// Label names the field: 身份证号码后四位 or 统一社会信用代码后四位.
	Label string `json:"label"`
	// Pattern is the rule as a regular expression over the four
	// characters, in the common subset of HTML, JavaScript and Go syntax;
	// it takes lower case too (the check is case-insensitive).
	Pattern string `json:"pattern"`
	// Hint says what to type, when the characters cannot be right.
	Hint string `json:"hint"`

	re *regexp.Regexp
}

// The alphabet of a unified social credit code (GB 32100): digits and
// capital letters without I, O, S, V, Z.
const creditAlphabet = "0-9A-HJ-NP-RTUWXY"

var confirmations = map[string]Confirmation{
	"person": {
		Kind: "person", Label: "身份证号码后四位",
		Pattern: "[0-9]{3}[0-9Xx]",
		Hint:    "请输入身份证号码的后四位：四位数字，末位可为 X",
	},
	"enterprise": {
		Kind: "enterprise", Label: "统一社会信用代码后四位",
		Pattern: "[" + creditAlphabet + strings.ToLower(creditAlphabet[3:]) + "]{4}",
		Hint:    "请输入统一社会信用代码的后四位：数字或大写字母",
	},
}

func init() {
	for k, c := range confirmations {
		c.re = regexp.MustCompile("^(?:" + c.Pattern + ")$")
		confirmations[k] = c
	}
}

// ConfirmationFor returns the rule for an applicant kind; an unknown kind
// gets the ID card's (the contract knows only the two).
func ConfirmationFor(kind string) Confirmation {
	if c, ok := confirmations[kind]; ok {
		return c
	}
	return confirmations["person"]
}

// Check compares what the applicant typed with the registered number,
// ignoring case and surrounding spaces. Characters the rule cannot accept
// are refused with the hint (not counted as a try: they tell nothing);
// four acceptable characters that differ from the number's last four are
// errWrongID.
func (c Confirmation) Check(typed, idNumber string) error {
	typed = strings.TrimSpace(typed)
	if !c.re.MatchString(typed) {
		return daiban.Invalid("id_last4", "%s", c.Hint)
	}
	id := strings.ToUpper(strings.TrimSpace(idNumber))
	if len(id) < 4 || id[len(id)-4:] != strings.ToUpper(typed) {
		return errWrongID
	}
	return nil
}
