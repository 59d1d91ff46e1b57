package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/demo"
)

// Finding 9 (in part): "ID numbers and phones are stored in clear." The
// attacker, as the database owner, read every column of every table (and
// ran pg_dump) looking for the applicants' numbers. Re-run: the same read
// after the matrix has opened its cases finds none of the numbers of the
// demo people the cases were opened for (whole, the ID's last 8
// characters, the phone with dashes or spaces, or any of them in hex).
func init() {
	addFinding("personal numbers in a database dump", func(t *testing.T, r *attackRun) {
		ctx := context.Background()
		var n int
		if err := r.owner.QueryRow(ctx, "SELECT count(*) FROM cases").Scan(&n); err != nil || n < 1 {
			t.Fatalf("no cases to look for: %d %v", n, err)
		}
		// One more case, opened the way the attacker watched: an
		// idempotent request, whose response is stored.
		p := piiPeople(t, 1)[0]
		id := openCase(t, r.env, r.county, p, "attack-pii")
		if ap := caseJSON(t, r.env, r.county, id)["applicant"].(map[string]any); ap["id_number"] != p.IDNumber {
			t.Errorf("the case's agent no longer sees the full ID number: %v", ap["id_number"])
		}
		people, err := demo.People()
		if err != nil {
			t.Fatal(err)
		}
		needles := piiNeedles(people)
		assertNoPII(t, "a SELECT of every column", dumpColumns(t, ctx, r.owner), needles)
		assertNoPII(t, "pg_dump", pgDump(t, r.env.URL), needles)
		if r := r.env.Do(t, r.county, http.MethodGet, "/api/v1/cases", nil, nil); r.Status != http.StatusOK {
			t.Errorf("list after the dump: %d", r.Status)
		}
	})
}
