package pdf_test

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

// TestImages turns a receipt into page images a tablet can show: one PNG
// per page at the resolution asked; a context already over gives the slot
// back without running the converter.
func TestImages(t *testing.T) {
	t.Parallel()
	r := testRenderer(t)
	doc, err := r.Receipt(pdf.ReceiptData{
		CaseNumber: "370323001-20251206-0001", Title: "食品经营许可", ApplicantName: "王小明", AgentName: "李四",
		Items:    []pdf.ReceiptItem{{Kind: "licence", Name: "食品经营许可证", Number: "JY13703230000001", Verified: true}},
		SignedAt: time.Now(), VerifyCode: "RASTER01",
	})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := r.Images(context.Background(), doc, 160, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 1 {
		t.Fatal("no pages")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(pages[0]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 1320 || cfg.Width > 1325 || cfg.Height < 1868 || cfg.Height > 1873 {
		t.Errorf("an A4 page at 160 dpi is %dx%d", cfg.Width, cfg.Height)
	}
	if one, err := r.Images(context.Background(), doc, 72, 1); err != nil || len(one) != 1 {
		t.Errorf("max 1 page: %d pages, %v", len(one), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Images(ctx, doc, 160, 12); daiban.ErrorCode(err) != daiban.EUNAVAILABLE {
		t.Errorf("an ended context: %v", err)
	}
	if _, err := r.Images(context.Background(), []byte("not a pdf"), 160, 12); err == nil {
		t.Error("not a PDF: no error")
	}
}
