package ledger_test

import (
	"encoding/json"
	"testing"

	"github.com/daiban/daiban/ledger"
)

type state string

// TestCanonicalFastPathMatchesJSON checks that payloads taking the direct
// path encode to exactly the bytes of the JSON round trip.
func TestCanonicalFastPathMatchesJSON(t *testing.T) {
	payloads := []any{
		map[string]any{"number": "370323001-20261127-0001", "from": state("processing"), "to": state("processing"), "version": 7, "notify_applicant": true},
		map[string]any{"note": "材料已送达审批局，窗口受理中 <b>&\"引号\"\\ \n换行\t", "step": "", "count": int64(-3), "n32": int32(12)},
		map[string]any{"materials": []map[string]any{{"code": "ID_CARD", "received": true, "pages": 2}}, "missing": []string{"营业执照", "身份证"}, "none": []string(nil)},
		map[string]any{"items": []map[string]string{{"kind": "licence", "name": "许可证"}}, "applicant": map[string]string{"id_number": "3703**********201X"}, "nil": nil},
		map[string]any{"z": 1, "a": map[string]any{"y": []any{"x", 2, false, nil}}, "é": "ü", "emoji": "𪚥"},
	}
	for i, p := range payloads {
		fast, err := ledger.Canonical(p)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := ledger.Canonical(json.RawMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(slow) {
			t.Errorf("payload %d:\nfast %s\nslow %s", i, fast, slow)
		}
	}
	// Personal numbers are refused on the direct path too.
	if _, err := ledger.Canonical(map[string]any{"id": "37032319850312201X"}); err == nil {
		t.Error("a full ID number passed")
	}
}
