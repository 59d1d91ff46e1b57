package web

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/daiban/daiban/cases"
)

// TestActionBody checks that action forms become the API's bodies and
// that the service's field names lead back to the form's fields.
func TestActionBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action string
		form   url.Values
		body   string
		fields map[string]string // service field → form field
	}{
		{"review", url.Values{"material": {"A", "B"}, "received.A": {"1"}, "original.A": {"1"}, "pages.A": {"3"}, "pages.B": {"7"}, "result": {"supplement"}, "note": {"缺 B"}},
			`{"materials":[{"code":"A","original":true,"pages":3,"received":true},{"code":"B","original":false,"pages":0,"received":false}],"note":"缺 B","result":"supplement"}`,
			map[string]string{"materials[1].received": "received.B", "materials[0].pages": "pages.A", "materials[1].code": "", "materials": "materials", "note": "note", "version": ""}},
		{"results", url.Values{"kind.0": {"licence"}, "name.0": {""}, "kind.2": {"approval"}, "name.2": {"批复"}, "number.2": {"X1"}},
			`{"items":[{"kind":"approval","name":"批复","number":"X1"}],"note":""}`,
			map[string]string{"items[0].name": "name.2", "items": "items"}},
		{"progress", url.Values{"note": {"已报送"}, "notify_applicant": {"1"}},
			`{"note":"已报送","notify_applicant":true,"step":""}`, map[string]string{"note": "note", "If-Match": ""}},
		{"evaluate", url.Values{"rating": {"5"}, "comment": {"好"}}, `{"comment":"好","rating":5}`, map[string]string{"rating": "rating"}},
		{"evaluate", url.Values{}, "", map[string]string{"rating": "rating"}},
	} {
		raw, fieldOf, err := cases.FormBody(tc.action, tc.form)
		spec, _ := cases.ActionSpec(tc.action)
		fieldOf = shownOn(fieldOf, spec.Fields)
		if tc.body == "" {
			if err == nil {
				t.Errorf("%s %v: no error", tc.action, tc.form)
			}
		} else {
			var got, want any
			_ = json.Unmarshal(raw, &got)
			_ = json.Unmarshal([]byte(tc.body), &want)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if err != nil || string(g) != string(w) {
				t.Errorf("%s: body %s (%v), want %s", tc.action, g, err, w)
			}
		}
		for svc, want := range tc.fields {
			if got := fieldOf(svc); got != want {
				t.Errorf("%s: field %q shows at %q, want %q", tc.action, svc, got, want)
			}
		}
	}
}
