package pdf_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/daiban/daiban/agreements/pdf"
)

// TestQRNeverAloneOnAPage: however many materials an agreement lists, the
// QR box sits on the page of the signatures (pdftotext splits pages with
// a form feed), and a short agreement stays on one page.
func TestQRNeverAloneOnAPage(t *testing.T) {
	r := testRenderer(t)
	for n := 1; n <= 12; n++ {
		d := benchAgreement(t)
		d.Materials = d.Materials[:min(n, len(d.Materials))]
		for len(d.Materials) < n {
			d.Materials = append(d.Materials, pdf.ReceivedMaterial{Name: fmt.Sprintf("补充材料第%d项（复印件加盖公章）", len(d.Materials)+1), Pages: 3})
		}
		b, err := r.Agreement(d)
		if err != nil {
			t.Fatal(err)
		}
		pages := strings.Split(strings.TrimRight(pdftotext(t, b, "-layout"), "\f"), "\f")
		if n <= 3 && len(pages) != 1 {
			t.Errorf("%d materials: %d pages, want 1", n, len(pages))
		}
		for i, pg := range pages {
			if strings.Contains(pg, "验证码：") && !strings.Contains(pg, "委托人（甲方）签字") {
				t.Errorf("%d materials: page %d of %d holds the QR box without the signatures:\n%s", n, i+1, len(pages), pg)
			}
		}
	}
}
