package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// Representative request shapes: flat strings, numbers and booleans,
// nested slices of objects, maps and pointers.
type fuzzItem struct {
	Code     string `json:"code"`
	Received bool   `json:"received"`
	Pages    int    `json:"pages"`
}

type fuzzFlat struct {
	Name   string  `json:"name"`
	Rating int     `json:"rating"`
	Score  float64 `json:"score"`
	Notify bool    `json:"notify"`
	Small  uint8   `json:"small"`
}

type fuzzNested struct {
	Result string            `json:"result"`
	Items  []fuzzItem        `json:"items"`
	Tags   map[string]string `json:"tags"`
	Agent  *string           `json:"agent"`
	Inner  *fuzzFlat         `json:"inner"`
	IDs    []int64           `json:"ids"`
}

// FuzzDecodeJSON: DecodeJSON never panics; a refusal is EINVALID with a
// message; whatever it accepts marshals and decodes again.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `1`, `{} {}`, `{}x`, `{} `, `{"name":"张三"}`,
		`{"name":1}`, `{"rating":"5"}`, `{"rating":1e400}`, `{"small":300}`, `{"small":-1}`,
		`{"unknown":1}`, `{"Name":"case-insensitive"}`, `{"name":"a"`, `{"name":"\ud800"}`,
		`{"result":"accept","items":[{"code":"id_card","received":true,"pages":2}],"tags":{"a":"b"},"agent":"li","inner":{"rating":3},"ids":[1,2]}`,
		`{"items":[{"code":1}]}`, `{"items":{}}`, `{"tags":[]}`, `{"inner":{"bogus":true}}`,
		`{"ids":[9223372036854775808]}`, "\xef\xbb\xbf{}", `{"name":"a\u0000b"}`, `[[[[[[[[[[]]]]]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data, func() any { return new(fuzzFlat) })
		check(t, data, func() any { return new(fuzzNested) })
		check(t, data, func() any { return new(map[string]any) })
	})
}

func check(t *testing.T, data []byte, mk func() any) {
	t.Helper()
	v := mk()
	err := httpapi.DecodeJSON(data, v)
	if err != nil {
		if code := daiban.ErrorCode(err); code != daiban.EINVALID {
			t.Fatalf("%T: code %q for %q: %v", v, code, data, err)
		}
		if daiban.ErrorMessage(err) == "" {
			t.Fatalf("%T: empty message for %q: %v", v, data, err)
		}
		return
	}
	again, merr := json.Marshal(v)
	if merr != nil {
		t.Fatalf("%T: accepted %q but cannot marshal it: %v", v, data, merr)
	}
	w := mk()
	if err := httpapi.DecodeJSON(again, w); err != nil {
		t.Fatalf("%T: accepted %q, re-marshalled %q refused: %v", v, data, again, err)
	}
	again2, _ := json.Marshal(w)
	if string(again) != string(again2) {
		t.Fatalf("%T: round trip not stable: %q then %q", v, again, again2)
	}
}
