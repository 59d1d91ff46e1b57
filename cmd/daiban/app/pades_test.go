package app_test

import (
	"encoding/asn1"

	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"github.com/digitorus/pkcs7"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// stoppableTSA is an RFC 3161 service on a fixed address that a test can
// stop and start again: the center's local TSA served over HTTP, as a
// province's TSA would answer.
type stoppableTSA struct {
	addr    string
	handler atomic.Pointer[http.Handler]
	srv     *http.Server
}

func newStoppableTSA(t *testing.T) *stoppableTSA {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stoppableTSA{addr: l.Addr().String()}
	s.serve(l)
	t.Cleanup(s.stop)
	return s
}

func (s *stoppableTSA) serve(l net.Listener) {
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.handler.Load()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	})}
	go s.srv.Serve(l)
}

func (s *stoppableTSA) stop() { s.srv.Close() }

func (s *stoppableTSA) start(t *testing.T) {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("restart TSA on %s: %v", s.addr, err)
	}
	s.serve(l)
}

func (s *stoppableTSA) url() string { return "http://" + s.addr + "/tsa" }

// noticeOf opens a case for the n-th test person and issues its one-time
// notice; it returns the case id and the notice's document id.
func noticeOf(t *testing.T, env *apptest.Env, tok string, n int) (int64, int64) {
	t.Helper()
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": apptest.Person(t, n), "summary": "开办小餐馆",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	d := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", id), nil, nil).Must(t, 201)
	return id, int64(d.JSON["document_id"].(float64))
}

func docOfCase(t *testing.T, env *apptest.Env, tok string, caseID, docID int64) map[string]any {
	t.Helper()
	for _, d := range caseJSON(t, env, tok, caseID)["documents"].([]any) {
		if dm := d.(map[string]any); int64(dm["id"].(float64)) == docID {
			return dm
		}
	}
	t.Fatalf("case %d lists no document %d", caseID, docID)
	return nil
}

func sealOf(t *testing.T, env *apptest.Env, sum string) map[string]any {
	t.Helper()
	v := env.Do(t, "", http.MethodGet, "/api/v1/verify/"+sum, nil, nil).Must(t, 200)
	seal, ok := v.JSON["seal"].(map[string]any)
	if !ok {
		t.Fatalf("verify answer without seal block: %s", v.Body)
	}
	return seal
}

// TestTimestampAddedWhenTSAReturns: the TSA is stopped, a document is
// sealed at once and marked awaiting its timestamp; the TSA starts again
// and within a minute the job adds a document timestamp, records it in the
// ledger, and the tools still accept the file.
func TestTimestampAddedWhenTSAReturns(t *testing.T) {
	t.Parallel()
	tsa := newStoppableTSA(t)
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{TSAURL: tsa.url(), TimestampInterval: 2 * time.Second})
	local, err := pdf.LoadSealer(env.Keys)
	if err != nil {
		t.Fatal(err)
	}
	h := local.LocalTSAHandler()
	tsa.handler.Store(&h)
	env.User(t, "ts.town", "township_agent", "370323001")
	tok := env.Token(t, "ts.town")

	caseA, docA := noticeOf(t, env, tok, 11)
	a := docOfCase(t, env, tok, caseA, docA)
	if a["awaiting_timestamp"] != false {
		t.Fatalf("sealed with the TSA up but awaiting: %v", a)
	}
	if s := sealOf(t, env, a["sha256"].(string)); s["timestamp"] != "stamped" || s["tsa"] != tsa.url() || s["status"] != "valid" {
		t.Fatalf("seal with the TSA up: %v", s)
	}

	tsa.stop()
	caseB, docB := noticeOf(t, env, tok, 12) // the applicant is not turned away
	b := docOfCase(t, env, tok, caseB, docB)
	sealedSum := b["sha256"].(string)
	if b["awaiting_timestamp"] != true {
		t.Fatalf("TSA down, document not marked awaiting: %v", b)
	}
	if s := sealOf(t, env, sealedSum); s["timestamp"] != "awaiting" || s["awaiting_timestamp"] != true {
		t.Fatalf("verify while awaiting: %v", s)
	}
	page := env.Do(t, "", http.MethodGet, "/verify/"+sealedSum, nil, nil).Must(t, 200)
	if !strings.Contains(string(page.Body), "等待时间戳") {
		t.Error("verify page does not say the document awaits its timestamp")
	}
	casePage := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/cases/%d", caseB), nil, nil).Must(t, 200)
	if !strings.Contains(string(casePage.Body), "等待时间戳") {
		t.Error("case page does not say the document awaits its timestamp")
	}
	awaiting := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", docB), nil, nil).Must(t, 200).Body

	tsa.start(t)
	restarted := time.Now()
	for docOfCase(t, env, tok, caseB, docB)["awaiting_timestamp"] != false {
		if time.Since(restarted) > time.Minute {
			t.Fatal("no document timestamp within a minute of the TSA's return")
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("document timestamp added %v after the TSA returned", time.Since(restarted).Round(100*time.Millisecond))
	resp := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", docB), nil, nil).Must(t, 200)
	stamped := resp.Body
	if !strings.HasPrefix(string(stamped), string(awaiting)) {
		t.Fatal("the document timestamp rewrote the sealed file instead of appending to it")
	}
	sum := sha256.Sum256(stamped)
	if got := resp.Header.Get("X-Content-SHA256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("X-Content-SHA256 %s does not name the file served", got)
	}
	for _, key := range []string{sealedSum, hex.EncodeToString(sum[:])} {
		if s := sealOf(t, env, key); s["timestamp"] != "stamped" || s["status"] != "valid" {
			t.Errorf("verify %s after the timestamp: %v", key, s)
		}
	}
	led := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d/ledger", caseB), nil, nil).Must(t, 200)
	if !strings.Contains(string(led.Body), "document.timestamped") || !strings.Contains(string(led.Body), hex.EncodeToString(sum[:])) {
		t.Errorf("ledger lacks the document timestamp: %s", led.Body)
	}
	checkWithTools(t, env, stamped)
}

// checkWithTools runs pdfsig (root trusted), qpdf, mutool and openssl on a
// sealed document completed by a document timestamp.
func checkWithTools(t *testing.T, env *apptest.Env, doc []byte) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "doc.pdf")
	os.WriteFile(p, doc, 0o600)
	root := filepath.Join(env.Keys, "root.pem")
	nss := t.TempDir()
	for _, args := range [][]string{{"-N", "--empty-password", "-d", nss}, {"-A", "-t", "CT,C,C", "-n", "root", "-i", root, "-d", nss}} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil: %v %s", err, out)
		}
	}
	out, _ := exec.Command("pdfsig", "-nssdir", nss, p).CombinedOutput()
	seal := strings.SplitN(string(out), "Signature #2", 2)
	if len(seal) != 2 || !strings.Contains(seal[0], "ETSI.CAdES.detached") || !strings.Contains(seal[0], "Signature is Valid.") || !strings.Contains(seal[0], "Certificate is Trusted.") {
		t.Errorf("pdfsig:\n%s", out)
	}
	if out, err := exec.Command("qpdf", "--check", p).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	if out, _ := exec.Command("mutool", "sign", "-v", p).CombinedOutput(); !strings.Contains(string(out), "The signature is valid") || strings.Contains(string(out), "Digest error") {
		t.Errorf("mutool sign -v:\n%s", out)
	}
	// The document timestamp's token, as pdfsig extracts it, over the
	// bytes its /ByteRange covers.
	dump := exec.Command("pdfsig", "-dump", "doc.pdf")
	dump.Dir = dir
	if out, err := dump.CombinedOutput(); err != nil {
		t.Fatalf("pdfsig -dump: %v %s", err, out)
	}
	m := regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+)\s*\]`).FindAllSubmatch(doc, -1)
	if len(m) != 2 {
		t.Fatalf("want 2 signatures, got %d", len(m))
	}
	a, _ := strconv.Atoi(string(m[1][1]))
	b, _ := strconv.Atoi(string(m[1][2]))
	c, _ := strconv.Atoi(string(m[1][3]))
	content := filepath.Join(dir, "dts-content.bin")
	os.WriteFile(content, append(append([]byte(nil), doc[:a]...), doc[b:b+c]...), 0o600)
	tsaPEM := filepath.Join(env.Keys, "tsa.pem") // the TSA this test serves
	out, err := exec.Command("openssl", "ts", "-verify", "-in", filepath.Join(dir, "doc.pdf.sig1"), "-token_in", "-data", content,
		"-CAfile", root, "-untrusted", tsaPEM).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify of the document timestamp: %v\n%s", err, out)
	}
}

// TestRevokedKeyReported: `keys revoke --at T` (the key was compromised
// since T): a document sealed before T stays valid, one sealed after T is
// reported as sealed by a revoked key; the CRL at /pki/root.crl lists the
// certificate; and the server seals nothing more with the revoked key.
func TestRevokedKeyReported(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "rv.town", "township_agent", "370323001")
	tok := env.Token(t, "rv.town")
	caseA, docA := noticeOf(t, env, tok, 21)
	before := docOfCase(t, env, tok, caseA, docA)["sha256"].(string)
	serial := sealOf(t, env, before)["serial"].(string)

	time.Sleep(1100 * time.Millisecond) // timestamps and revocation times have whole seconds
	compromised := time.Now()
	time.Sleep(1100 * time.Millisecond)
	caseB, docB := noticeOf(t, env, tok, 22)
	after := docOfCase(t, env, tok, caseB, docB)["sha256"].(string)
	if s := sealOf(t, env, after); s["status"] != "valid" {
		t.Fatalf("before any revocation: %v", s)
	}

	rev, err := pdf.RevokeCert(env.Keys, serial, "keyCompromise", compromised)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // servers re-read root.crl within a second
	crlDER := env.Do(t, "", http.MethodGet, "/pki/root.crl", nil, nil).Must(t, 200).Body
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil || len(crl.RevokedCertificateEntries) != 1 || pdf.SerialHex(crl.RevokedCertificateEntries[0].SerialNumber) != serial {
		t.Fatalf("/pki/root.crl after revoke: %v %+v", err, crl)
	}
	if s := sealOf(t, env, before); s["status"] != "valid" || s["revocation"] == nil {
		t.Errorf("document sealed before the revocation: %v", s)
	}
	if s := sealOf(t, env, after); s["status"] != "revoked" {
		t.Errorf("document sealed after the revocation: %v", s)
	}
	page := env.Do(t, "", http.MethodGet, "/verify/"+after, nil, nil).Must(t, 200)
	if !strings.Contains(string(page.Body), "由已吊销的签章密钥在吊销后盖章") || strings.Contains(string(page.Body), `id="verify-ok"`) {
		t.Error("verify page does not report the revoked key")
	}
	if page := env.Do(t, "", http.MethodGet, "/verify/"+before, nil, nil).Must(t, 200); !strings.Contains(string(page.Body), `id="verify-ok"`) ||
		!strings.Contains(string(page.Body), "在吊销之前已盖章，仍然有效") {
		t.Error("verify page does not keep the document sealed before the revocation valid")
	}
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": apptest.Person(t, 23), "summary": "开办小餐馆",
	}, nil).Must(t, 201)
	refused := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", int64(r.JSON["id"].(float64))), nil, nil)
	if refused.Status == 201 || !strings.Contains(string(refused.Body), "daiban keys rotate") {
		t.Errorf("sealing with the revoked key: %d %s", refused.Status, refused.Body)
	}
	t.Logf("revoked %s from %s; sealing afterwards: %d %s", rev.Serial, rev.At, refused.Status, refused.Body)
}

// TestDelegatedAgreementPassesEveryTool: one delegated case through the
// API; its sealed agreement, as served, passes every tool we did not
// write: pdfsig (trusted root), qpdf, mutool, pdffonts, openssl cms and
// openssl ts on the signature timestamp.
func TestDelegatedAgreementPassesEveryTool(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "ag.town", "township_agent", "370323001")
	tok := env.Token(t, "ag.town")
	person := apptest.Person(t, 31)
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": person, "summary": "开办小餐馆",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	path := fmt.Sprintf("/api/v1/cases/%d", id)
	c := caseJSON(t, env, tok, id)
	env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200)
	link := env.Do(t, tok, http.MethodPost, path+"/agreement", nil, nil).Must(t, 201).JSON["signing_url"].(string)
	env.Do(t, tok, http.MethodPost, path+"/agreement/signatures", map[string]any{"image_png": signaturePNG(t, 3)}, nil).Must(t, 200)
	env.Do(t, "", http.MethodPost, "/api/v1/sign/"+strings.TrimPrefix(link, "/sign/"),
		map[string]any{"image_png": signaturePNG(t, 5), "id_last4": person["id_number"][14:]}, nil).Must(t, 200)
	var docID int64
	for _, d := range caseJSON(t, env, tok, id)["documents"].([]any) {
		if dm := d.(map[string]any); dm["kind"] == "agreement" {
			docID = int64(dm["id"].(float64))
		}
	}
	doc := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", docID), nil, nil).Must(t, 200).Body

	dir := t.TempDir()
	p := filepath.Join(dir, "agreement.pdf")
	os.WriteFile(p, doc, 0o600)
	root := filepath.Join(dir, "root.pem")
	os.WriteFile(root, env.Do(t, "", http.MethodGet, "/pki/root.pem", nil, nil).Must(t, 200).Body, 0o600)
	tsaPEM := filepath.Join(dir, "tsa.pem")
	os.WriteFile(tsaPEM, env.Do(t, "", http.MethodGet, "/pki/tsa.pem", nil, nil).Must(t, 200).Body, 0o600)
	nss := t.TempDir()
	for _, args := range [][]string{{"-N", "--empty-password", "-d", nss}, {"-A", "-t", "CT,C,C", "-n", "root", "-i", root, "-d", nss}} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil: %v %s", err, out)
		}
	}
	tool := func(want []string, name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s %v lacks %q:\n%s", name, args, w, out)
			}
		}
		return string(out)
	}
	tool([]string{"Signature Type: ETSI.CAdES.detached", "Signature is Valid.", "Certificate is Trusted.", "Total document signed"}, "pdfsig", "-nssdir", nss, p)
	tool([]string{"No syntax or stream encoding errors"}, "qpdf", "--check", p)
	tool([]string{"The document is unchanged since signing."}, "mutool", "sign", "-v", p)
	fonts := tool(nil, "pdffonts", p)
	for _, l := range strings.Split(strings.TrimSpace(fonts), "\n")[2:] {
		if !regexp.MustCompile(`^[A-Z]{6}\+\S+ .* yes yes `).MatchString(l) {
			t.Errorf("pdffonts: not a tagged embedded subset: %s", l)
		}
	}
	tool(nil, "pdfsig", "-dump", "agreement.pdf")
	m := regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+)\s*\]`).FindSubmatch(doc)
	a, _ := strconv.Atoi(string(m[1]))
	b, _ := strconv.Atoi(string(m[2]))
	n, _ := strconv.Atoi(string(m[3]))
	os.WriteFile(filepath.Join(dir, "covered.bin"), append(append([]byte(nil), doc[:a]...), doc[b:b+n]...), 0o600)
	tool([]string{"CMS Verification successful"}, "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "agreement.pdf.sig0",
		"-content", "covered.bin", "-CAfile", root, "-purpose", "any", "-out", os.DevNull)
	printed := tool([]string{"id-smime-aa-timeStampToken", "id-smime-aa-signingCertificateV2"}, "openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", "agreement.pdf.sig0")
	signed := strings.SplitN(strings.SplitN(printed, "signedAttrs:", 2)[1], "unsignedAttrs:", 2)[0]
	if strings.Contains(signed, "signingTime") {
		t.Errorf("the seal's signed attributes carry signingTime:\n%s", signed)
	}
	token, sigValue := timestampToken(t, filepath.Join(dir, "agreement.pdf.sig0"))
	os.WriteFile(filepath.Join(dir, "token.der"), token, 0o600)
	os.WriteFile(filepath.Join(dir, "sigvalue.bin"), sigValue, 0o600)
	tool([]string{"Verification: OK"}, "openssl", "ts", "-verify", "-in", "token.der", "-token_in", "-data", "sigvalue.bin", "-CAfile", root, "-untrusted", tsaPEM)
}

// timestampToken takes the signature timestamp out of the seal's CMS.
func timestampToken(t *testing.T, cmsPath string) (token, sigValue []byte) {
	t.Helper()
	der, err := os.ReadFile(cmsPath)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
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
	t.Fatal("no signature timestamp")
	return nil, nil
}
