package pdf_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/reports"
)

var sampleTownships = [][2]string{
	{"370323001", "历山街道"}, {"370323002", "南麻街道"}, {"370323101", "鲁村镇"}, {"370323102", "大张庄镇"},
	{"370323103", "中庄镇"}, {"370323104", "张家坡镇"}, {"370323105", "燕崖镇"}, {"370323106", "西里镇"},
	{"370323107", "东里镇"}, {"370323108", "悦庄镇"}, {"370323109", "南鲁山镇"}, {"370323110", "石桥镇"},
}

func fptr(v float64) *float64 { return &v }

// sampleReport is a county report with every section filled; overdue and
// complaints give the number of list rows.
func sampleReport(overdue, complaints int) reports.Report {
	d := reports.Report{
		Title: "沂源县帮办代办每月调度报告（2026年10月）", Month: "2026-10",
		Region: reports.Region{Code: "370323", Name: "沂源县", Level: "county"},
		From:   "2026-10-01", To: "2026-10-31", AsOf: "2026-10-31", Complete: true,
		GeneratedAt: time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC),
	}
	total := reports.Row{Code: "370323", Name: "沂源县"}
	for i, tw := range sampleTownships {
		r := reports.Row{Code: tw[0], Name: tw[1], Received: 10 * (i + 1), Delegated: 3 * i, Closed: 7 * i,
			ClosedDelegated: 2 * i, ClosedOnTime: i + i/2, OverdueOpen: i % 3}
		r.ByMode = reports.Modes{Guide: 4 * (i + 1), Accompany: 3 * (i + 1), Delegate: 3 * (i + 1)}
		r.ClosedLate = r.ClosedDelegated - r.ClosedOnTime
		if r.ClosedDelegated > 0 {
			r.OnTimeRate = fptr(float64(1000*r.ClosedOnTime/r.ClosedDelegated) / 10)
			r.AvgCloseWorkdays = fptr(float64(i) + 0.5)
		}
		r.Escalations.Total, r.Escalations.Approved, r.Escalations.Pending = i, i/2, i-i/2
		r.Escalations.Levels[0] = reports.EscalationLevel{Level: "city", Label: "市级", Outcomes: reports.Outcomes{Total: i, Approved: i / 2, Pending: i - i/2}}
		r.Escalations.Levels[1] = reports.EscalationLevel{Level: "province", Label: "省级"}
		r.Escalations.Levels[2] = reports.EscalationLevel{Level: "national", Label: "国家级"}
		for k, l := range reports.RatingLabels {
			r.Ratings.Levels[k] = reports.Rating{Score: k + 1, Label: l, Count: (i + k) % 4}
			r.Ratings.Total += (i + k) % 4
		}
		r.Complaints = reports.ComplaintCount{Total: 2, Open: 1, Rectified: 1, Overdue: 1}
		d.Townships = append(d.Townships, r)
		total.Received += r.Received
		total.Closed += r.Closed
	}
	total.OnTimeRate = fptr(66.7)
	total.AvgCloseWorkdays = fptr(4.2)
	total.Escalations.Total = 5
	total.Ratings.Total = 3
	total.Complaints.Total = complaints
	for k, l := range reports.RatingLabels {
		total.Ratings.Levels[k] = reports.Rating{Score: k + 1, Label: l, Count: k * 3}
	}
	d.Total = total
	d.Overdue = []reports.OverdueCase{}
	for i := 0; i < overdue; i++ {
		st, closed := "open", ""
		if i%2 == 1 {
			st, closed = "closed_late", "2026-10-20"
		}
		d.Overdue = append(d.Overdue, reports.OverdueCase{CaseID: int64(i + 1), Number: fmt.Sprintf("370323001-20261009-%03d", i+1),
			Township: "370323001", TownshipName: "历山街道", Title: "食品经营许可（仅销售预包装食品除外）",
			Handler: "lishan.zhang", HandlerName: "张喆", DelegatedOn: "2026-10-09", DueDate: "2026-10-16", Status: st, ClosedOn: closed, WorkdaysOverdue: 3})
	}
	d.Complaints = []reports.Complaint{}
	for i := 0; i < complaints; i++ {
		d.Complaints = append(d.Complaints, reports.Complaint{CaseID: int64(100 + i), Number: fmt.Sprintf("370323101-20261012-%03d", i+1),
			Township: "370323101", TownshipName: "鲁村镇", Title: "个体工商户登记", Rating: 1, RatingLabel: "非常不满意",
			RatedOn: "2026-10-12", DueDate: "2026-11-02", Status: "open", Handler: "lucun.wang", HandlerName: "王堃"})
	}
	return d
}

// TestMonthlyReportText renders a county report and reads it back with
// pdftotext: the title, every township, the key figures, the lists and
// the page numbers are there.
func TestMonthlyReportText(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	d := sampleReport(40, 3)
	docPDF, err := r.MonthlyReport(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("REPORT_KEEP"); dir != "" {
		p := filepath.Join(dir, "report.pdf")
		_ = os.WriteFile(p, docPDF, 0o644)
		if out, err := exec.Command("pdftoppm", "-png", "-r", "70", p, filepath.Join(dir, "report")).CombinedOutput(); err != nil {
			t.Logf("pdftoppm: %v %s", err, out)
		}
	}
	text := stripSpace(pdftotext(t, docPDF, "-raw"))
	want := []string{d.Title, "统计范围：沂源县（370323）", "生成时间：2026年11月2日17:30", "统计期间：2026年10月1日至2026年10月31日",
		"一、总体情况", "二、各乡镇（街道）办件情况", "图1", "图2", "三、逾期案件清单", "四、转报上级情况", "五、服务评价情况", "图3", "六、差评整改情况",
		"370323001-20261009-040", "张喆lishan.zhang", "王堃lucun.wang", "66.7%", "非常不满意"}
	for _, tw := range sampleTownships {
		want = append(want, tw[1])
	}
	for _, w := range want {
		if !strings.Contains(text, stripSpace(w)) {
			t.Errorf("%q not in the PDF text", w)
		}
	}
	if !strings.Contains(text, "第1页共") {
		t.Error("no page numbers")
	}
}

// TestMonthlyReportLongLists keeps a report with hundreds of list rows
// together: every row is there, and the header repeats on each page.
func TestMonthlyReportLongLists(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	d := sampleReport(300, 120)
	docPDF, err := r.MonthlyReport(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	text := stripSpace(pdftotext(t, docPDF, "-raw"))
	for _, it := range d.Overdue {
		if !strings.Contains(text, it.Number) {
			t.Fatalf("overdue %s missing", it.Number)
		}
	}
	for _, it := range d.Complaints {
		if !strings.Contains(text, it.Number) {
			t.Fatalf("complaint %s missing", it.Number)
		}
	}
}

// TestMonthlyReportUnprintable prints a character no font has as □
// instead of failing the report.
func TestMonthlyReportUnprintable(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	d := sampleReport(1, 0)
	d.Overdue[0].HandlerName = "张\uE001三"
	docPDF, err := r.MonthlyReport(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if text := stripSpace(pdftotext(t, docPDF, "-raw")); !strings.Contains(text, "张□三") {
		t.Error("unprintable character not replaced")
	}
}

// TestMonthlyReportEmpty renders a township with nothing in the month:
// the sections say so.
func TestMonthlyReportEmpty(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	row := reports.Row{Code: "370323001", Name: "历山街道"}
	d := reports.Report{Title: "沂源县历山街道帮办代办每月调度报告（2026年11月）", Month: "2026-11",
		Region: reports.Region{Code: "370323001", Name: "历山街道", Level: "township"},
		From:   "2026-11-01", To: "2026-11-30", AsOf: "2026-11-15", Townships: []reports.Row{row}, Total: row}
	docPDF, err := r.MonthlyReport(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	text := stripSpace(pdftotext(t, docPDF, "-raw"))
	for _, w := range []string{"本月尚未结束", "本月无逾期案件。", "本月无转报上级事项。", "本月未收到服务评价。", "本月无差评。"} {
		if !strings.Contains(text, w) {
			t.Errorf("%q not in the PDF text", w)
		}
	}
}

// TestMonthlyReportProvisionalDue: a due date past the calendar is printed
// with 暂定 under it, in the overdue and the rectification lists; the
// others are not.
func TestMonthlyReportProvisionalDue(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	d := sampleReport(2, 2)
	d.Overdue[0].DueDate, d.Overdue[0].DueProvisional = "2027-01-04", true
	d.Complaints[0].DueDate, d.Complaints[0].DueProvisional = "2027-01-22", true
	docPDF, err := r.MonthlyReport(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	text := stripSpace(pdftotext(t, docPDF, "-raw"))
	for _, w := range []string{"2027-01-04（暂定）", "2027-01-22（暂定）"} {
		if !strings.Contains(text, w) {
			t.Errorf("%q not in the PDF text", w)
		}
	}
	if n := strings.Count(text, "暂定"); n != 2 {
		t.Errorf("暂定 printed %d times, want 2", n)
	}
}
