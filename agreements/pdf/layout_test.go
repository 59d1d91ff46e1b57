package pdf_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/daiban/daiban/agreements/pdf"
)

// TestLayoutImages renders every document kind, sealed, to PNG pages with
// pdftoppm (60 dpi) for a person to look at. The files go to
// $AGREEMENTS_ARTIFACTS when set (kept), else to a temporary directory
// removed after the test; the path is printed either way. Never into the
// repository.
func TestLayoutImages(t *testing.T) {
	needTool(t, "pdftoppm", "poppler-utils")
	dir := os.Getenv("AGREEMENTS_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	docs := sealedDocs(t)

	r := testRenderer(t)
	d := benchAgreement(t)
	d.ApplicantSignature, d.AgentSignature, d.SignedAt = nil, nil, time.Time{}
	d.Applicant = pdf.Party{Kind: "enterprise", Name: "沂源县犇淼农业科技有限公司（分公司）", IDMasked: "91370323MA3*******", PhoneMasked: "0533-*****88", Address: "山东省淄博市沂源县南麻街道㛃家庄村犇淼路 88 号院内东侧第 3 间"}
	d.Note = longNote(5)
	var err error
	if docs["agreement-draft-enterprise"], err = r.Agreement(d); err != nil {
		t.Fatal(err)
	}
	long := sampleMatters()
	for i := 0; i < 3; i++ {
		m := long[0]
		m.Name = fmt.Sprintf("%s（第 %d 项）", m.Name, i+1)
		for j := 0; j < 6; j++ {
			m.Materials = append(m.Materials, pdf.MaterialInfo{Name: fmt.Sprintf("补充材料 %d：%s", j+1, string([]rune(longNote(uint64(j)))[:30])), Count: 2})
		}
		long = append(long, m)
	}
	if docs["notice-long"], err = r.Notice(pdf.NoticeData{CaseNumber: "YY-2025-LONG", Title: "开办餐饮店“一件事”", Matters: long,
		ApplicantName: "欧阳喆𠇔𪚥", IssuedAt: time.Now(), VerifyCode: "LONG01", Note: longNote(9)}); err != nil {
		t.Fatal(err)
	}

	for name, docPDF := range docs {
		p := filepath.Join(dir, name+".pdf")
		if err := os.WriteFile(p, docPDF, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("pdftoppm", "-png", "-r", "60", p, filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm %s: %v\n%s", name, err, out)
		}
		pages, _ := filepath.Glob(filepath.Join(dir, name+"-*.png"))
		if len(pages) == 0 {
			t.Errorf("%s: no page images", name)
		}
		for _, pg := range pages {
			if st, err := os.Stat(pg); err != nil || st.Size() < 5000 {
				t.Errorf("%s: page image %s looks empty", name, pg)
			}
		}
	}
	t.Logf("page images in %s", dir)
	fmt.Printf("agreements layout: page images in %s\n", dir)
}
