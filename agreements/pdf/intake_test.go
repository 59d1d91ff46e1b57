package pdf_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

// TestIntakeReceiptContents: the intake receipt prints, in order, the
// center, the case, the applicant (a rare-character name), each matter
// with its department, the materials received, the limit with its due
// date, the tracking code and where to ask, and says it is no proof of
// completion — on one A4 page, every font embedded. Without materials it
// says none were taken; a bad tracking code is refused before rendering.
func TestIntakeReceiptContents(t *testing.T) {
	t.Parallel()
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	d := pdf.IntakeData{
		CaseNumber: "370323001-20260506-0007", Title: "我要开便利店",
		Matters: []pdf.IntakeMatter{
			{Name: "食品经营许可", Department: "县市场监督管理局"},
			{Name: "个体工商户登记", Department: "县行政审批服务局"},
		},
		ApplicantName: "欧阳喆𠇔", IDNumber: "3703**********1234", Channel: "窗口", AgentName: "张堃",
		RegisteredAt: time.Date(2026, 5, 6, 1, 30, 0, 0, time.UTC), // 09:30 in Beijing
		Materials: []pdf.IntakeMaterial{
			{Name: "申请人身份证", Original: true, Pages: 1},
			{Name: "经营场所使用证明", Original: false, Pages: 3},
		},
		LimitDays: 20, DueDate: "2026-06-04", TrackingCode: "K7QX-2M9P",
	}
	doc, err := r.IntakeReceiptCtx(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DAIBAN_ARTIFACTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "intake-receipt.pdf"), doc, 0o644)
	}
	text := normalized(pdftotext(t, doc, "-raw"))
	assertInOrder(t, "intake receipt", text, []string{
		testCenter.Name, "受理回执", "案件编号：370323001-20260506-0007", "受理时间：2026年5月6日 09:30",
		"申请人", "欧阳喆𠇔", "3703**********1234", "我要开便利店",
		"食品经营许可（县市场监督管理局）", "个体工商户登记（县行政审批服务局）", "张堃",
		"已收材料", "申请人身份证", "原件", "1", "经营场所使用证明", "复印件", "3",
		"承诺时限", "20 个工作日", "应于 2026年6月4日 前办结",
		"查询码：K7QX-2M9P", testCenter.BaseURL + "/track/K7QX-2M9P",
		testCenter.Address, testCenter.Phone, pdf.IntakeNotice, testCenter.Name,
	})
	if strings.Contains(text, "电子签章") {
		t.Error("the receipt claims a seal it does not carry")
	}
	if n := strings.Count(pdftotext(t, doc, "-layout"), "\f"); n != 1 {
		t.Errorf("receipt has %d pages, want 1", n)
	}
	assertEmbedded(t, doc)

	// A due date past the holiday calendar in force is 暂定.
	d.DueProvisional = true
	if doc, err = r.IntakeReceiptCtx(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	assertInOrder(t, "provisional due date", normalized(pdftotext(t, doc, "-raw")), []string{"应于 2026年6月4日 前办结（暂定", "查询码"})

	d.Materials, d.DueDate, d.DueProvisional = nil, "", false
	doc, err = r.IntakeReceiptCtx(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	text = normalized(pdftotext(t, doc, "-raw"))
	assertInOrder(t, "receipt without materials", text, []string{"已收材料", "尚未收取材料", "承诺时限"})
	if strings.Contains(text, "应于") {
		t.Error("a receipt before the clock starts prints a due date")
	}

	d.TrackingCode = "代码 1"
	if _, err := r.IntakeReceiptCtx(context.Background(), d); daiban.ErrorCode(err) != daiban.EINVALID {
		t.Errorf("bad tracking code: %v", err)
	}
}
