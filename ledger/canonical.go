package ledger

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/daiban/daiban"
)

// Canonical returns the canonical JSON encoding of v, the form Append
// stores as an entry's payload:
//
//   - v is first encoded with encoding/json (struct tags apply; nil becomes
//     the empty object {});
//   - object keys are sorted by their UTF-8 bytes, duplicates keep the last;
//   - no insignificant whitespace;
//   - strings escape only '"', '\\' and control characters (as in the leaf
//     encoding); '<', '>', '&' and all other UTF-8 are written as is;
//   - numbers are kept exactly as encoding/json wrote them.
//
// The ledger is public to supervisors and its proofs to anyone: a string
// value that is a complete 18-character resident ID number (valid check
// digit) or an 11-digit mobile number is refused. Callers must mask such
// data (3703**********1234, 138****5678) before appending, including when it
// is embedded in longer text, which this check does not see.
func Canonical(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	// The payloads of case actions are maps of strings, integers and
	// booleans: they are put in canonical form directly, which gives the
	// same bytes as the JSON round trip below at a fraction of its cost.
	if tree, ok := plain(v); ok {
		return appendCanonical(make([]byte, 0, 256), tree)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("ledger: encoding payload: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("ledger: decoding payload: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("ledger: payload is not a single JSON value")
	}
	if tree == nil {
		return []byte("{}"), nil
	}
	return appendCanonical(make([]byte, 0, len(raw)), tree)
}

// plain converts v to the decoded-JSON form appendCanonical takes when v is
// built only of types whose JSON encoding is plain: strings (valid UTF-8),
// string-kinded named types, integers, booleans, nil, and maps and slices
// of those. Anything else reports false and takes the JSON round trip.
func plain(v any) (any, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case json.Number: // a decoded payload (ledger.Personal re-encodes one)
		return x, json.Valid([]byte(x))
	case int:
		return json.Number(strconv.Itoa(x)), true
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10)), true
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			t, ok := plain(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = t
		}
		return out, true
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) || !utf8.ValidString(e) {
				return nil, false
			}
			out[k] = e
		}
		return out, true
	case []string:
		if x == nil {
			return nil, true
		}
		out := make([]any, len(x))
		for i, e := range x {
			if !utf8.ValidString(e) {
				return nil, false
			}
			out[i] = e
		}
		return out, true
	case []any, []map[string]any, []map[string]string:
		rv := reflect.ValueOf(x)
		if rv.IsNil() {
			return nil, true
		}
		out := make([]any, rv.Len())
		for i := range out {
			t, ok := plain(rv.Index(i).Interface())
			if !ok {
				return nil, false
			}
			out[i] = t
		}
		return out, true
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String && !rv.Type().Implements(marshalerType) && !rv.Type().Implements(textMarshalerType) {
		s := rv.String()
		return s, utf8.ValidString(s)
	}
	return nil, false
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

var errPersonalData = daiban.Invalid("payload", "台账内容不得包含完整的身份证号码或手机号码，请先脱敏")

func appendCanonical(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case json.Number:
		return append(dst, x...), nil
	case string:
		if personalNumber(x) {
			return nil, errPersonalData
		}
		return appendJSONString(dst, x), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendCanonical(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, err = appendCanonical(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("ledger: unexpected JSON value %T", v)
}

// personalNumber reports whether s, as a whole, is a full resident ID
// number (GB 11643: 17 digits, a valid check character and a plausible birth
// date) or a mainland mobile number (11 digits starting 13–19, optionally
// with +86).
func personalNumber(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) == 18 {
		return idNumber(s)
	}
	s = strings.TrimPrefix(s, "+86")
	if len(s) != 11 || s[0] != '1' || s[1] < '3' {
		return false
	}
	return allDigits(s)
}

func idNumber(s string) bool {
	if !allDigits(s[:17]) {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	check := "10X98765432"[sum%11]
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	if last != check {
		return false
	}
	year := atoi(s[6:10])
	month := atoi(s[10:12])
	day := atoi(s[12:14])
	return year >= 1900 && year <= 2100 && month >= 1 && month <= 12 && day >= 1 && day <= 31
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
