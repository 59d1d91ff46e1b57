package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestDuplicateRegistrationWarns: registering the same applicant for the
// same matter, or a matter of the same 一件事, while a case is open is
// refused (409 duplicate, naming the open case) until the agent gives a reason; the
// reason and the open case go into the ledger. Another matter, or the
// same one once the first case is closed, is not a duplicate.
func TestDuplicateRegistrationWarns(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "d.town", "township_agent", "370323001")
	tok := env.Token(t, "d.town")
	person := apptest.Person(t, 8) // 陈𪚥
	create := func(matter, reason string) apptest.Response {
		body := map[string]any{"region": "370323001001", "channel": "counter", "matter": matter, "applicant": person, "summary": "重复登记测试"}
		if reason != "" {
			body["duplicate_reason"] = reason
		}
		return env.Do(t, tok, http.MethodPost, "/api/v1/cases", body, nil)
	}
	first := create("SP001", "").Must(t, http.StatusCreated)
	number := first.JSON["number"].(string)

	// The contract: 409 duplicate with the open case's id.
	for _, matter := range []string{"SP001", "GT001", "YJS001"} { // the same matter; one of its 一件事; the 一件事 itself
		r := create(matter, "")
		e, _ := r.JSON["error"].(map[string]any)
		if r.Status != http.StatusConflict || e["code"] != "duplicate" || e["case_id"] != first.JSON["id"] || e["field"] != "duplicate_reason" || !strings.Contains(string(r.Body), number) {
			t.Fatalf("%s again: %d %s", matter, r.Status, r.Body)
		}
	}
	if r := create("YP001", ""); r.Status != http.StatusCreated {
		t.Fatalf("another matter: %d %s", r.Status, r.Body)
	}
	second := create("SP001", "申请人另有一处经营场所").Must(t, http.StatusCreated)
	id := int64(second.JSON["id"].(float64))
	led := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d/ledger", id), nil, nil).Must(t, http.StatusOK)
	var entries struct {
		Items []struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
			// The reason is typed text: published as a commitment, readable
			// for staff beside it (issue 13).
			Readable json.RawMessage `json:"readable"`
		} `json:"items"`
	}
	if err := json.Unmarshal(led.Body, &entries); err != nil || len(entries.Items) == 0 || entries.Items[0].Type != "case.created" {
		t.Fatalf("ledger of the second case: %v %s", err, led.Body)
	}
	var created struct {
		DuplicateOf     []string `json:"duplicate_of"`
		DuplicateReason string   `json:"duplicate_reason"`
	}
	if err := json.Unmarshal(entries.Items[0].Readable, &created); err != nil || created.DuplicateReason != "申请人另有一处经营场所" || len(created.DuplicateOf) != 1 || created.DuplicateOf[0] != number {
		t.Fatalf("case.created entry: %v %s", err, entries.Items[0].Readable)
	}
	if strings.Contains(string(entries.Items[0].Payload), "经营场所") {
		t.Fatalf("the published entry holds the typed reason: %s", entries.Items[0].Payload)
	}
	// The case's timeline says it too.
	c := caseJSON(t, env, tok, id)
	if tl := fmt.Sprint(c["timeline"]); !strings.Contains(tl, "另行登记原因：申请人另有一处经营场所") || !strings.Contains(tl, number) {
		t.Errorf("timeline: %s", tl)
	}
}
