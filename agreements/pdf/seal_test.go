package pdf_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

// sealedDocs renders and seals one document of each kind.
func sealedDocs(t *testing.T) map[string][]byte {
	t.Helper()
	r := testRenderer(t)
	s := testSealer(t)
	d := benchAgreement(t)
	when := time.Date(2025, 3, 5, 10, 0, 0, 0, cstZone)
	docs := map[string][]byte{}
	var err error
	docs["agreement"], err = r.Agreement(d)
	if err != nil {
		t.Fatal(err)
	}
	// The agent and the applicant signing with the very same strokes:
	// one image, one resource (qpdf refuses a repeated key).
	same := d
	same.AgentSignature = d.ApplicantSignature
	if docs["agreement, same strokes"], err = r.Agreement(same); err != nil {
		t.Fatal(err)
	}
	docs["notice"], err = r.Notice(pdf.NoticeData{CaseNumber: d.CaseNumber, Title: d.Title, Matters: sampleMatters(), ApplicantName: d.Applicant.Name,
		IssuedAt: when, VerifyCode: "NOTICE01", TrackingCode: d.TrackingCode})
	if err != nil {
		t.Fatal(err)
	}
	docs["receipt"], err = r.Receipt(sampleReceipt(d.ApplicantSignature))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range docs {
		sealed, err := s.Seal(v, when)
		if err != nil {
			t.Fatalf("seal %s: %v", k, err)
		}
		docs[k] = sealed
	}
	return docs
}

func sampleMatters() []pdf.MatterInfo {
	return []pdf.MatterInfo{{
		Name: "食品经营许可（新办）", Department: "沂源县市场监督管理局", Level: "县级", LimitDays: 10,
		Where: "沂源县政务服务中心二楼 市场监管综合窗口（12—15 号）",
		Materials: []pdf.MaterialInfo{
			{Name: "食品经营许可申请书", Original: true, Count: 1},
			{Name: "营业执照或其他主体资格证明文件", Original: false, Count: 1},
			{Name: "与食品经营相适应的主要设备设施布局、操作流程等文件", Original: true, Count: 1},
			{Name: "食品安全自查、从业人员健康管理、进货查验记录、食品安全事故处置等保证食品安全的规章制度", Original: true, Count: 1},
			{Name: "法定代表人（负责人）身份证明", Original: false, Count: 1},
		},
	}}
}

func sampleReceipt(sig []byte) pdf.ReceiptData {
	return pdf.ReceiptData{
		CaseNumber: "YY-20250305-0042", Title: "食品经营许可（新办）", ApplicantName: "司马喆堃", AgentName: "诸葛淼",
		Items: []pdf.ReceiptItem{
			{Kind: "licence", Name: "食品经营许可证（正本、副本）", Number: "JY13703230012345", Verified: true},
			{Kind: "material", Name: "经营场所使用证明（租赁合同）原件", Verified: true},
			{Kind: "material", Name: "食品经营许可申请书（存档联）", Verified: true},
		},
		ApplicantSignature: sig, SignedAt: time.Date(2025, 3, 12, 15, 0, 0, 0, cstZone), VerifyCode: "RECEIPT01",
	}
}

func pdfsig(t *testing.T, docPDF []byte, args ...string) string {
	t.Helper()
	p := writeTemp(t, "sealed.pdf", docPDF)
	out, _ := exec.Command("pdfsig", append(args, p)...).CombinedOutput() // exits non-zero on invalid signatures
	return string(out)
}

func TestSealValidates(t *testing.T) {
	needTool(t, "pdfsig", "poppler-utils")
	needTool(t, "certutil", "libnss3-tools")
	s := testSealer(t)

	// A temporary NSS database trusting the root.
	nss := t.TempDir()
	rootPath := writeTemp(t, "root.pem", s.RootPEM())
	for _, args := range [][]string{
		{"-N", "--empty-password", "-d", nss},
		{"-A", "-t", "CT,C,C", "-n", "daiban-root", "-i", rootPath, "-d", nss},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}

	for kind, docPDF := range sealedDocs(t) {
		out := pdfsig(t, docPDF)
		if !strings.Contains(out, "Signature is Valid.") {
			t.Errorf("%s: pdfsig:\n%s", kind, out)
		}
		// The signer readers show is the center, in Chinese.
		for _, want := range []string{"SHA-256", "ETSI.CAdES.detached", "Total document signed", "Signer Certificate Common Name: 沂源县政务服务中心 电子签章"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: pdfsig lacks %q:\n%s", kind, want, out)
			}
		}
		trusted := pdfsig(t, docPDF, "-nssdir", nss)
		if !strings.Contains(trusted, "Signature is Valid.") || !strings.Contains(trusted, "Certificate is Trusted.") {
			t.Errorf("%s: with the root imported:\n%s", kind, trusted)
		}

		// One flipped byte inside the first signed range.
		ranges := signedRanges(t, out)
		pos := ranges[0][1] / 2
		bad := append([]byte(nil), docPDF...)
		bad[pos] ^= 0x01
		tampered := pdfsig(t, bad, "-nssdir", nss)
		if strings.Contains(tampered, "Signature is Valid.") || !strings.Contains(tampered, "Digest Mismatch") {
			t.Errorf("%s: tampered document (byte %d):\n%s", kind, pos, tampered)
		}
		// One flipped byte in the second signed range (after the signature).
		bad = append([]byte(nil), docPDF...)
		bad[(ranges[1][0]+ranges[1][1])/2] ^= 0x01
		if out := pdfsig(t, bad); strings.Contains(out, "Signature is Valid.") {
			t.Errorf("%s: tampered trailer still valid:\n%s", kind, out)
		}
	}
}

var rangeRe = regexp.MustCompile(`\[(\d+) - (\d+)\]`)

func signedRanges(t *testing.T, pdfsigOut string) [][2]int {
	t.Helper()
	var out [][2]int
	for _, m := range rangeRe.FindAllStringSubmatch(pdfsigOut, -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		out = append(out, [2]int{a, b})
	}
	if len(out) != 2 {
		t.Fatalf("signed ranges not found in:\n%s", pdfsigOut)
	}
	return out
}

func TestKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := pdf.InitKeys(dir, "沂源县政务服务中心"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 7 { // root, seal and local TSA keys and certificates, the root CRL
		t.Errorf("want 7 files, got %d", len(entries))
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", e.Name(), info.Mode())
		}
	}
	// Never overwrites.
	if err := pdf.InitKeys(dir, "x"); err == nil || !strings.Contains(daiban.ErrorMessage(err), "已存在") {
		t.Errorf("second InitKeys: %v", err)
	}
	s, err := pdf.LoadSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	root := parsePEM(t, s.RootPEM())
	seal := parsePEM(t, s.SealPEM())
	if !root.IsCA || root.CheckSignatureFrom(root) != nil {
		t.Error("root is not a self-signed CA")
	}
	if seal.CheckSignatureFrom(root) != nil || seal.IsCA {
		t.Error("seal certificate not issued by the root")
	}
	if seal.Subject.CommonName != "沂源县政务服务中心 电子签章" || root.Subject.CommonName != "沂源县政务服务中心 根证书" {
		t.Errorf("CN %q", seal.Subject.CommonName)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := seal.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Error(err)
	}

	// Missing keys: a clear message pointing at `daiban keys init`.
	_, err = pdf.LoadSealer(filepath.Join(t.TempDir(), "none"))
	if err == nil || !strings.Contains(daiban.ErrorMessage(err), "daiban keys init") {
		t.Errorf("missing keys: %v", err)
	}
	// A key readable by others is refused.
	if err := os.Chmod(filepath.Join(dir, "seal.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pdf.LoadSealer(dir); err == nil || !strings.Contains(daiban.ErrorMessage(err), "chmod 600") {
		t.Errorf("loose key permissions: %v", err)
	}
	// A seal certificate from another root is refused.
	if err := os.Chmod(filepath.Join(dir, "seal.key"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := pdf.InitKeys(other, "Other"); err != nil {
		t.Fatal(err)
	}
	rootOther, _ := os.ReadFile(filepath.Join(other, "root.pem"))
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), rootOther, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := pdf.LoadSealer(dir); err == nil {
		t.Error("mismatched root accepted")
	}
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealRejectsNonPDF(t *testing.T) {
	if _, err := testSealer(t).Seal([]byte("not a pdf"), time.Now()); err == nil {
		t.Error("sealed garbage")
	}
	// The seal is appended: the original bytes are a prefix of the result.
	docPDF, err := testRenderer(t).Receipt(sampleReceipt(nil))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := testSealer(t).Seal(docPDF, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, docPDF) {
		t.Error("sealing rewrote the document instead of appending")
	}
}
