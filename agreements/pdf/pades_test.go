package pdf_test

import (
	"github.com/jung-kurt/gofpdf"
	"net/http"
	"net/http/httptest"
	"time"

	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"github.com/daiban/daiban/agreements/pdf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/digitorus/pkcs7"
)

// toolkit runs the validators we did not write against one PDF, with the
// center's root trusted where the tool has a trust store.
type toolkit struct {
	t       *testing.T
	nss     string // NSS database trusting the root (pdfsig)
	rootPEM string
	tsaPEM  string
}

func newToolkit(t *testing.T, rootPEM, tsaPEM []byte) *toolkit {
	t.Helper()
	for tool, pkg := range map[string]string{"pdfsig": "poppler-utils", "pdffonts": "poppler-utils", "certutil": "libnss3-tools",
		"qpdf": "qpdf", "mutool": "mupdf-tools", "openssl": "openssl"} {
		needTool(t, tool, pkg)
	}
	k := &toolkit{t: t, nss: t.TempDir(), rootPEM: writeTemp(t, "root.pem", rootPEM), tsaPEM: writeTemp(t, "tsa.pem", tsaPEM)}
	for _, args := range [][]string{
		{"-N", "--empty-password", "-d", k.nss},
		{"-A", "-t", "CT,C,C", "-n", "daiban-root", "-i", k.rootPEM, "-d", k.nss},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return k
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// verdicts runs every tool on doc and returns, per tool, "" when it
// accepts the seal, else what it printed.
func (k *toolkit) verdicts(doc []byte) map[string]string {
	t := k.t
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	check := func(tool, out string, ok bool) {
		if !ok {
			v[tool] = out
		} else {
			v[tool] = ""
		}
	}
	out, _ := run("pdfsig", "-nssdir", k.nss, p)
	first := strings.SplitN(out, "Signature #2", 2)[0]
	check("pdfsig", out, strings.Contains(first, "Signature Type: ETSI.CAdES.detached") &&
		strings.Contains(first, "Signature is Valid.") && strings.Contains(first, "Certificate is Trusted."))

	out, err := run("qpdf", "--check", p)
	check("qpdf", out, err == nil && strings.Contains(out, "No syntax or stream encoding errors"))

	out, _ = run("mutool", "sign", "-v", p)
	seal := strings.SplitN(out, "Verifying signature", 3)
	check("mutool", out, len(seal) >= 2 && !strings.Contains(seal[1], "Digest error") &&
		(strings.Contains(seal[1], "The document is unchanged since signing.") || strings.Contains(seal[1], "The signature is valid")))

	// The seal's CMS as pdfsig extracts it, and the bytes it covers.
	dump := exec.Command("pdfsig", "-dump", "doc.pdf")
	dump.Dir = dir // pdfsig writes doc.pdf.sig0 into the working directory
	dumpOut, _ := dump.CombinedOutput()
	cmsPath := p + ".sig0"
	cmsDER, err := os.ReadFile(cmsPath)
	if err != nil {
		v["openssl cms"] = "pdfsig -dump extracted no CMS:\n" + string(dumpOut)
		v["openssl ts"] = v["openssl cms"]
		return v
	}
	content := writeTemp(t, "content.bin", signedContent(t, doc))
	out, err = run("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", cmsPath, "-content", content,
		"-CAfile", k.rootPEM, "-purpose", "any", "-out", os.DevNull)
	check("openssl cms", out, err == nil && strings.Contains(out, "Verification successful"))

	token, sigValue := timestampOf(t, cmsDER)
	if token == nil {
		v["openssl ts"] = "no signature timestamp in the CMS"
	} else {
		out, err = run("openssl", "ts", "-verify", "-in", writeTemp(t, "tst.der", token), "-token_in",
			"-data", writeTemp(t, "sigvalue.bin", sigValue), "-CAfile", k.rootPEM, "-untrusted", k.tsaPEM)
		check("openssl ts", out, err == nil && strings.Contains(out, "Verification: OK"))
	}
	return v
}

var byteRangeRe = regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+)\s*\]`)

// signedContent is what the first signature's /ByteRange covers.
func signedContent(t *testing.T, doc []byte) []byte {
	t.Helper()
	m := byteRangeRe.FindSubmatch(doc)
	if m == nil {
		t.Fatal("no /ByteRange")
	}
	var a, b, c int
	for i, dst := range []*int{&a, &b, &c} {
		n, _ := json.Number(m[i+1]).Int64()
		*dst = int(n)
	}
	return append(append([]byte(nil), doc[:a]...), doc[b:b+c]...)
}

// timestampOf digs the RFC 3161 token out of the CMS's unsigned
// attributes, with the signature value it timestamps.
func timestampOf(t *testing.T, cmsDER []byte) (token, sigValue []byte) {
	t.Helper()
	p7, err := pkcs7.Parse(cmsDER)
	if err != nil || len(p7.Signers) == 0 {
		return nil, nil
	}
	si := p7.Signers[0]
	for _, a := range si.UnauthenticatedAttributes {
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}) {
			var tok asn1.RawValue
			if _, err := asn1.Unmarshal(a.Value.Bytes, &tok); err != nil {
				t.Fatal(err)
			}
			return tok.FullBytes, si.EncryptedDigest
		}
	}
	return nil, si.EncryptedDigest
}

func TestPAdESToolsAccept(t *testing.T) {
	s := testSealer(t)
	tsaPEM, err := os.ReadFile(filepath.Join(sealDir, "tsa.pem"))
	if err != nil {
		t.Fatal(err)
	}
	k := newToolkit(t, s.RootPEM(), tsaPEM)
	for kind, doc := range sealedDocs(t) {
		t.Run(kind, func(t *testing.T) {
			k.t = t
			good := k.verdicts(doc)
			if len(good) != 5 {
				t.Fatalf("want the verdicts of five tools, got %v", good)
			}
			for tool, bad := range good {
				if bad != "" {
					t.Errorf("%s refuses the sealed %s:\n%s", tool, kind, bad)
				}
			}
			checkStructure(t, doc)
			// One byte of the seal's /Contents (inside the signature value)
			// changed to a non-hex character: all five refuse.
			// The tools read a non-hex digit as 0, so the changed digit must
			// not be a 0 already (else nothing changed and they rightly accept).
			pos := signatureByte(t, doc)
			for doc[pos] == '0' {
				pos += 2
			}
			bad := append([]byte(nil), doc...)
			bad[pos] = 'g'
			for tool, out := range k.verdicts(bad) {
				if out == "" {
					t.Errorf("%s accepts the %s with byte %d of the seal changed", tool, kind, pos)
				}
			}
			// One flipped byte — in the page's compressed content, then in
			// the signature value — and every tool refuses.
			for what, pos := range map[string]int{"content": contentByte(t, doc), "signature": signatureByte(t, doc)} {
				bad := append([]byte(nil), doc...)
				bad[pos] ^= 0x01
				if what == "signature" {
					bad[pos] = flipHex(doc[pos])
				}
				for tool, out := range k.verdicts(bad) {
					if out == "" && (what == "content" && tool != "openssl ts" || what == "signature" && tool != "qpdf") {
						t.Errorf("%s accepts the %s with a flipped %s byte at %d", tool, kind, what, pos)
					}
				}
			}
		})
	}
}

// contentByte is a byte inside the first compressed stream (page content).
func contentByte(t *testing.T, doc []byte) int {
	i := bytes.Index(doc, []byte("/FlateDecode"))
	j := bytes.Index(doc[i:], []byte("stream"))
	if i < 0 || j < 0 {
		t.Fatal("no compressed stream")
	}
	return i + j + len("stream\n") + 20
}

// signatureByte is a hex digit of the seal's signature value inside
// /Contents: the ECDSA signature's bytes as found in the dumped CMS.
func signatureByte(t *testing.T, doc []byte) int {
	m := byteRangeRe.FindSubmatchIndex(doc)
	start, _ := json.Number(doc[m[2]:m[3]]).Int64()
	cmsHex := doc[start+1:]
	p7der := make([]byte, 0, 8192)
	for i := 0; i+1 < len(cmsHex) && cmsHex[i] != '>'; i += 2 {
		var b [1]byte
		hex.Decode(b[:], cmsHex[i:i+2])
		p7der = append(p7der, b[0])
	}
	p7, err := pkcs7.Parse(bytes.TrimRight(p7der, "\x00"))
	if err != nil {
		t.Fatal(err)
	}
	sig := p7.Signers[0].EncryptedDigest
	at := bytes.Index(p7der, sig)
	return int(start) + 1 + 2*(at+len(sig)/2)
}

func flipHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

// checkStructure reads the document with qpdf --json: the catalog's
// /Perms names the seal for DocMDP, the page lists the seal's widget, the
// DSS carries certificates and a CRL, and pdffonts reports subset tags.
func checkStructure(t *testing.T, doc []byte) {
	t.Helper()
	p := writeTemp(t, "s.pdf", doc)
	out, err := exec.Command("qpdf", "--json=2", "--json-key=qpdf", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Qpdf []map[string]json.RawMessage `json:"qpdf"`
	}
	if err := json.Unmarshal(out, &js); err != nil || len(js.Qpdf) < 2 {
		t.Fatalf("qpdf json: %v", err)
	}
	objs := map[string]map[string]any{}
	for k, raw := range js.Qpdf[1] {
		var o struct {
			Value  map[string]any `json:"value"`
			Stream struct {
				Dict map[string]any `json:"dict"`
			} `json:"stream"`
		}
		json.Unmarshal(raw, &o)
		if o.Value == nil {
			o.Value = o.Stream.Dict
		}
		objs[strings.TrimPrefix(k, "obj:")] = o.Value
	}
	root := objs[objs["trailer"]["/Root"].(string)]
	perms, _ := root["/Perms"].(map[string]any)
	sig := objs[perms["/DocMDP"].(string)]
	if sig["/SubFilter"] != "/ETSI.CAdES.detached" {
		t.Errorf("/Perms /DocMDP does not name the seal: %v", perms)
	}
	dss := objs[root["/DSS"].(string)]
	if certs, _ := dss["/Certs"].([]any); len(certs) < 3 {
		t.Errorf("DSS certs: %v", dss)
	}
	if crls, _ := dss["/CRLs"].([]any); len(crls) < 1 {
		t.Errorf("DSS without CRL: %v", dss)
	}
	found := false
	for _, o := range objs {
		if o["/Type"] == "/Page" {
			annots, _ := o["/Annots"].([]any)
			for _, a := range annots {
				w := objs[a.(string)]
				found = found || (w["/FT"] == "/Sig" && w["/V"] == perms["/DocMDP"])
			}
		}
	}
	if !found {
		t.Error("the seal's widget is not in the page's /Annots")
	}
	fonts, err := exec.Command("pdffonts", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(fonts)), "\n")[2:]
	for _, l := range lines {
		if !regexp.MustCompile(`^[A-Z]{6}\+\S+ .* yes yes `).MatchString(l) {
			t.Errorf("pdffonts: font not an embedded, tagged subset: %s", l)
		}
	}
	_ = sha256.Sum256
}

// TestRotationKeepsOldDocumentsValid: a document sealed before `keys
// rotate` still passes every tool afterwards, next to one sealed with the
// new key; revoking the old certificate later is recorded in the CRL the
// new seals carry.
func TestRotationKeepsOldDocumentsValid(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	opts := pdf.KeyOptions{Center: "沂源县政务服务中心", CRLURL: "http://127.0.0.1:8080/pki/root.crl"}
	if err := pdf.InitKeysWith(dir, opts); err != nil {
		t.Fatal(err)
	}
	old, err := pdf.LoadSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := testRenderer(t)
	unsealed, err := r.Receipt(sampleReceipt(nil))
	if err != nil {
		t.Fatal(err)
	}
	before, err := old.SealDocument(t.Context(), unsealed, time.Now())
	if err != nil || before.AwaitingTimestamp() {
		t.Fatalf("seal before rotation: %v %+v", err, before.Timestamp)
	}
	oldSerial, newSerial, err := pdf.RotateSeal(dir, opts)
	if err != nil || oldSerial != before.Serial || newSerial == oldSerial {
		t.Fatalf("rotate: %v %s %s", err, oldSerial, newSerial)
	}
	if _, err := os.Stat(filepath.Join(dir, "seal-"+oldSerial+".pem")); err != nil {
		t.Errorf("old certificate not kept: %v", err)
	}
	cur, err := pdf.LoadSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	after, err := cur.SealDocument(t.Context(), unsealed, time.Now())
	if err != nil || after.Serial != newSerial {
		t.Fatalf("seal after rotation: %v %s", err, after.Serial)
	}
	if !cur.KnownSeal(oldSerial) || !cur.KnownSeal(newSerial) {
		t.Error("the rotated sealer does not know both seal certificates")
	}
	tsaPEM, _ := os.ReadFile(filepath.Join(dir, "tsa.pem"))
	k := newToolkit(t, cur.RootPEM(), tsaPEM)
	for name, doc := range map[string][]byte{"sealed before rotation": before.PDF, "sealed after rotation": after.PDF} {
		for tool, bad := range k.verdicts(doc) {
			if bad != "" {
				t.Errorf("%s: %s refuses it:\n%s", name, tool, bad)
			}
		}
	}
	time.Sleep(1100 * time.Millisecond) // timestamps and revocations have whole seconds
	rev, err := pdf.RevokeCert(dir, oldSerial, "superseded", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pdf.RevokeCert(dir, oldSerial, "superseded", time.Time{}); err == nil {
		t.Error("revoked twice")
	}
	if _, err := pdf.RevokeCert(dir, "ABCDEF", "superseded", time.Time{}); err == nil {
		t.Error("revoked a certificate this center never issued")
	}
	if _, err := pdf.RevokeCert(dir, newSerial, "because", time.Time{}); err == nil {
		t.Error("accepted an unknown reason")
	}
	time.Sleep(1100 * time.Millisecond)
	got, ok := cur.Revocation(oldSerial)
	if !ok || !got.At.Equal(rev.At) || !before.Timestamp.Before(got.At) {
		t.Errorf("revocation %v %+v; sealed at %v", ok, got, before.Timestamp)
	}
	if _, ok := cur.Revocation(newSerial); ok {
		t.Error("the new certificate is reported revoked")
	}
}

// TestRemoteTSAChainAndCRLInDSS: with DAIBAN_TSA_URL another authority
// (here: a second key directory's TSA behind HTTP, its CRL published at
// its distribution point) timestamps the seal; its chain and CRL end up in
// the DSS and the tools accept the document.
func TestRemoteTSAChainAndCRLInDSS(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	other := filepath.Join(t.TempDir(), "province")
	if err := pdf.InitKeysWith(other, pdf.KeyOptions{Center: "省级授时中心（测试）", CRLURL: srv.URL + "/crl"}); err != nil {
		t.Fatal(err)
	}
	remote, err := pdf.LoadSealer(other)
	if err != nil {
		t.Fatal(err)
	}
	crl, _ := remote.CRL()
	mux.Handle("/tsa", remote.LocalTSAHandler())
	mux.HandleFunc("/crl", func(w http.ResponseWriter, _ *http.Request) { w.Write(crl) })

	s, err := pdf.LoadSealer(sealDirFor(t))
	if err != nil {
		t.Fatal(err)
	}
	s.UseTSA(srv.URL+"/tsa", 5*time.Second)
	unsealed, err := testRenderer(t).Notice(pdf.NoticeData{CaseNumber: "YY-20250305-0042", Title: "食品经营许可（新办）", Matters: sampleMatters(),
		ApplicantName: "司马喆堃", IssuedAt: time.Now(), VerifyCode: "NOTICE02", TrackingCode: "K7Q2M9XR"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the first seal learns the chain, the second carries it in the signed revision
		res, err := s.SealDocument(t.Context(), unsealed, time.Now())
		if err != nil || res.AwaitingTimestamp() || res.TSA != srv.URL+"/tsa" {
			t.Fatalf("seal %d: %v %+v", i, err, res.TSA)
		}
		tsaPEM, _ := os.ReadFile(filepath.Join(other, "tsa.pem"))
		k := newToolkit(t, s.RootPEM(), tsaPEM)
		k.rootPEM = writeTemp(t, "roots.pem", append(s.RootPEM(), remote.RootPEM()...))
		for tool, bad := range k.verdicts(res.PDF) {
			if bad != "" {
				t.Errorf("seal %d: %s refuses it:\n%s", i, tool, bad)
			}
		}
		if n := bytes.Count(res.PDF, crl); n < 1 {
			t.Errorf("seal %d: the remote TSA's CRL is not in the DSS", i)
		}
	}
}

// TestSealKeepsInlineAnnotations: a page whose /Annots holds a direct
// link annotation (as gofpdf writes them) keeps it next to the seal's
// widget.
func TestSealKeepsInlineAnnotations(t *testing.T) {
	g := gofpdf.New("P", "mm", "A4", "")
	g.AddPage()
	g.LinkString(10, 10, 50, 10, "https://example.cn/")
	var b bytes.Buffer
	if err := g.Output(&b); err != nil {
		t.Fatal(err)
	}
	sealed, err := testSealer(t).Seal(b.Bytes(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := writeTemp(t, "link.pdf", sealed)
	if out, err := exec.Command("qpdf", "--check", p).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("qpdf", "--json=2", "--json-key=qpdf", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	var js struct {
		Qpdf []json.RawMessage `json:"qpdf"`
	}
	var objs map[string]struct {
		Value map[string]any `json:"value"`
	}
	if err := json.Unmarshal(out, &js); err != nil || len(js.Qpdf) < 2 || json.Unmarshal(js.Qpdf[1], &objs) != nil {
		t.Fatalf("qpdf json: %v", err)
	}
	var annots []any
	for _, o := range objs {
		if o.Value["/Type"] == "/Page" {
			annots, _ = o.Value["/Annots"].([]any)
		}
	}
	if len(annots) != 2 {
		t.Fatalf("page /Annots after sealing: %v", annots)
	}
	if link, ok := annots[0].(map[string]any); !ok || link["/Subtype"] != "/Link" {
		t.Errorf("the inline link annotation was not kept: %v", annots[0])
	}
	if out, _ := exec.Command("pdfsig", p).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}
}
