package httpapi_test

import (
	"errors"
	"testing"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// TestNULRefusedNamingTheField: a \u0000 anywhere in a body's strings is
// refused as invalid, naming the field, before any handler sees it.
func TestNULRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	type applicant struct {
		Name string `json:"name"`
	}
	type body struct {
		Region    string            `json:"region"`
		Applicant applicant         `json:"applicant"`
		Items     []string          `json:"items"`
		Extra     map[string]string `json:"extra"`
		Image     []byte            `json:"image"`
	}
	for raw, field := range map[string]string{
		`{"region":"3703\u0000b"}`:           "region",
		`{"applicant":{"name":"a\u0000b"}}`:  "applicant.name",
		`{"items":["ok","x\u0000"]}`:         "items",
		`{"extra":{"note":"\u0000"}}`:        "extra.note",
		`{"region":"370323","image":"AAAA"}`: "",
		`{"applicant":{"name":"司马\u4e00"}}`:  "",
	} {
		var v body
		err := httpapi.DecodeJSON([]byte(raw), &v)
		var e *daiban.Error
		switch {
		case field == "" && err != nil:
			t.Errorf("%s: refused: %v", raw, err)
		case field != "" && (!errors.As(err, &e) || e.Code != daiban.EINVALID || e.Field != field):
			t.Errorf("%s: got %v, want invalid naming %s", raw, err, field)
		}
	}
}
