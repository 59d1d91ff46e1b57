package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/migrations"
)

// TestReportMonthlyCommand writes a county's monthly report with the
// command line and reads the PDF back; bad input names the flag's field.
func TestReportMonthlyCommand(t *testing.T) {
	url := apptest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DAIBAN_DATA", t.TempDir())
	ctx := context.Background()
	owner, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	// One case guided at 历山街道's counter on 9 October 2026.
	if _, err := owner.Exec(ctx, `
		INSERT INTO cases (number, tracking_code, region, channel, matter_code, title, matter_codes, complexity, limit_days,
			mode, applicant_kind, applicant_name, state, outcome, created_by,
			created_at, updated_at, closed_at)
		VALUES ('370323001-20261009-0001', 'CLI1', '370323001', 'counter', 'GT001', '个体工商户设立登记', ARRAY['GT001'], 'general', 1,
			'guide', 'person', '张喆', 'closed', 'guided', 'cli.agent',
			'2026-10-09 09:00+08', '2026-10-09 09:00+08', '2026-10-09 09:30+08')`); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report.pdf")
	if err := run(ctx, []string{"report", "monthly", "--month", "2026-10", "--region", "370323", "--out", out}); err != nil {
		t.Fatalf("report: %v", message(err))
	}
	pdf, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("no PDF written: %v", err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		text, err := exec.Command("pdftotext", "-enc", "UTF-8", "-raw", out, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Join(strings.Fields(string(text)), "")
		for _, want := range []string{"沂源县帮办代办每月调度报告（2026年10月）", "历山街道", "本月共接收办件1件，其中即办1件"} {
			if !strings.Contains(s, want) {
				t.Errorf("PDF lacks %q", want)
			}
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "monthly", "--month", "2026-13", "--region", "370323", "--out", out}, "month"},
		{[]string{"report", "monthly", "--month", "2099-01", "--region", "370323", "--out", out}, "month"},
		{[]string{"report", "monthly", "--month", "2026-10", "--region", "370399", "--out", out}, "region"},
		{[]string{"report", "monthly", "--month", "2026-10", "--region", "370323"}, "用法"},
		{[]string{"report", "weekly"}, "用法"},
	} {
		err := run(ctx, c.args)
		if err == nil || !strings.Contains(message(err), c.want) {
			t.Errorf("%v: %v, want an error about %s", c.args, err, c.want)
		}
	}
}
