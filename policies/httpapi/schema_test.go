package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/daiban/daiban/policies/httpapi"
)

type inner struct {
	Code string `json:"code"`
}

type sample struct {
	inner
	ID      int64             `json:"id"`
	Name    string            `json:"name,omitempty" doc:"名称"`
	At      time.Time         `json:"at"`
	Due     *time.Time        `json:"due"`
	Tags    []string          `json:"tags"`
	Extra   map[string]int    `json:"extra,omitempty"`
	Raw     json.RawMessage   `json:"raw"`
	Skipped string            `json:"-"`
	hidden  string            //nolint:unused // unexported: not in the schema
	Nested  struct{ X bool }  `json:"nested"`
	Any     any               `json:"any"`
	Fixed   [2]int            `json:"fixed"`
	Bytes   []byte            `json:"bytes"`
	Named   map[string]string `json:"named"`
}

// TestSchemaFollowsEncodingJSON: the schema of a type says what
// encoding/json writes for it, and nothing else is allowed.
func TestSchemaFollowsEncodingJSON(t *testing.T) {
	t.Parallel()
	s := httpapi.Schema(sample{}, true)
	b, _ := json.Marshal(s)
	var got struct {
		Type       string                     `json:"type"`
		Additional bool                       `json:"additionalProperties"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "object" || got.Additional {
		t.Fatalf("object allows other properties: %s", b)
	}
	want := map[string]string{
		"code":   `{"type":"string"}`,
		"id":     `{"type":"integer"}`,
		"name":   `{"description":"名称","type":"string"}`,
		"at":     `{"format":"date-time","type":"string"}`,
		"due":    `{"format":"date-time","type":["string","null"]}`,
		"tags":   `{"items":{"type":"string"},"type":["array","null"]}`,
		"extra":  `{"additionalProperties":{"type":"integer"},"type":["object","null"]}`,
		"raw":    `{}`,
		"nested": `{"additionalProperties":false,"properties":{"X":{"type":"boolean"}},"required":["X"],"type":"object"}`,
		"any":    `{}`,
		"fixed":  `{"items":{"type":"integer"},"type":"array"}`,
		"bytes":  `{"contentEncoding":"base64","type":"string"}`,
		"named":  `{"additionalProperties":{"type":"string"},"type":["object","null"]}`,
	}
	if len(got.Properties) != len(want) {
		t.Errorf("properties %v", got.Properties)
	}
	for k, w := range want {
		if string(got.Properties[k]) != w {
			t.Errorf("%s: %s, want %s", k, got.Properties[k], w)
		}
	}
	for _, r := range got.Required {
		if r == "name" || r == "extra" {
			t.Errorf("omitempty field %s required", r)
		}
	}
	if len(got.Required) != 11 {
		t.Errorf("required %v", got.Required)
	}
	if req, _ := json.Marshal(httpapi.Schema(sample{}, false)); string(req) == string(b) {
		t.Error("a request schema requires fields (the handler answers a missing one itself)")
	}
}
