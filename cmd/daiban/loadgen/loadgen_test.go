package loadgen_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/cmd/daiban/loadgen"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRun drives two agents for six seconds (long enough for a whole
// lifecycle on a loaded two-core machine under -race) against a test server and
// expects at least one whole lifecycle, no errors and every action
// reported.
func TestRun(t *testing.T) {
	env := apptest.New(t)
	env.User(t, "bench.town1", "township_agent", "370323001")
	env.User(t, "bench.town2", "township_agent", "370323101")
	people, err := demo.People()
	if err != nil {
		t.Fatal(err)
	}
	var applicants []loadgen.Applicant
	for _, p := range people {
		if p.Kind == "person" {
			applicants = append(applicants, loadgen.Applicant{Kind: p.Kind, Name: p.Name, IDNumber: p.IDNumber, Phone: p.Phone})
		}
	}
	owner, err := migrations.OpenOwnerPool(context.Background(), env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var progress strings.Builder
	rep, err := loadgen.Run(context.Background(), loadgen.Config{
		BaseURL:  env.Server.URL,
		Workers:  2,
		Duration: 6 * time.Second,
		Rounds:   2,
		Agents: []loadgen.Credential{
			{Username: "bench.town1", Password: apptest.Password, Region: "370323001"},
			{Username: "bench.town2", Password: apptest.Password, Region: "370323101"},
		},
		Applicants: applicants,
		BarePool:   owner,
		Progress:   &progress,
		PeakRSS:    loadgen.SelfPeakRSS,
		ResetPeak:  loadgen.ResetSelfPeak,
		RSSNote:    "test process",
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.Print(os.Stdout)
	if rep.CasesCompleted < 1 {
		t.Errorf("no lifecycle completed")
	}
	if len(rep.ErrorSamples) > 0 {
		t.Errorf("errors: %v", rep.ErrorSamples)
	}
	if len(rep.Actions) != len(loadgen.Actions) {
		t.Fatalf("%d actions reported, want %d", len(rep.Actions), len(loadgen.Actions))
	}
	for _, a := range rep.Actions {
		if a.Errors != 0 || a.Count == 0 {
			t.Errorf("action %s: count %d, errors %d", a.Name, a.Count, a.Errors)
		}
	}
	if rep.BareRate <= 0 || rep.Ratio <= 0 || rep.PeakRSS <= 0 {
		t.Errorf("bare %.1f tx/s, ratio %.3f, peak RSS %d", rep.BareRate, rep.Ratio, rep.PeakRSS)
	}
	if !strings.Contains(progress.String(), "已完成案件") {
		t.Errorf("no progress lines: %q", progress.String())
	}
}
