package httpapi

import (
	"encoding/json"
	"testing"
)

type linkAnswer struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
}

type postAnswer struct {
	ID      int64  `json:"id"`
	Carrier string `json:"carrier"`
	Sent    bool   `json:"sent,omitempty"`
}

// TestOneOfSchema: a OneOf answer is described as a oneOf of each type's
// schema, and the page lists their fields together (a field is required
// only when every alternative has it).
func TestOneOfSchema(t *testing.T) {
	s := Schema(OneOf{linkAnswer{}, postAnswer{}}, true)
	alts, ok := s["oneOf"].([]any)
	if !ok || len(alts) != 2 {
		t.Fatalf("schema %v: want oneOf of two", s)
	}
	b, _ := json.Marshal(alts)
	want, _ := json.Marshal([]any{Schema(linkAnswer{}, true), Schema(postAnswer{}, true)})
	if string(b) != string(want) {
		t.Errorf("alternatives\n%s\nwant\n%s", b, want)
	}
	if got := schemaType(s); got != "object 或 object" {
		t.Errorf("type %q", got)
	}
	req := map[string]bool{}
	for _, f := range fields(s) {
		req[f["Name"].(string)] = f["Required"].(bool)
	}
	if len(req) != 4 || !req["id"] || req["url"] || req["carrier"] || req["sent"] {
		t.Errorf("fields %v: want id required; url, carrier, sent not", req)
	}
}
