package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/daiban/daiban"
)

// Sealed is a sealed document and what the seal says about it.
type Sealed struct {
	PDF []byte
	// Serial is the seal certificate's serial number (hex).
	Serial string
	// Timestamp is the time the TSA certified; zero while the document
	// awaits its timestamp (the TSA did not answer when it was sealed).
	Timestamp time.Time
	// TSA names the timestamp authority: "local" or the service's URL.
	TSA string
}

// AwaitingTimestamp reports whether the seal still lacks a timestamp.
func (s Sealed) AwaitingTimestamp() bool { return s.Timestamp.IsZero() }

var (
	oidTimeStampToken       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

// contentsSize is the room (bytes) reserved for the CMS blob: the
// signature, three certificates and a timestamp token with its own chain
// take 3–4 KB; a national TSA's token with a long chain up to ~9 KB.
const contentsSize = 16 << 10

const byteRangeMark = "/ByteRange [0 ********** ********** **********]"

// Seal signs doc with the seal key; see SealDocument. It is the single
// sealing entry point for every kind of document.
func (s *Sealer) Seal(doc []byte, when time.Time) ([]byte, error) {
	r, err := s.SealDocument(context.Background(), doc, when)
	return r.PDF, err
}

// SealDocument applies the center's seal as a PAdES baseline B-LT
// certification signature: SubFilter ETSI.CAdES.detached; signed
// attributes contentType, messageDigest and signingCertificateV2 (no
// signingTime: the time is /M and the timestamp); an RFC 3161 signature
// timestamp in the unsigned attributes; DocMDP with /Perms (P=1: no
// changes except later validation data and document timestamps); an
// invisible widget on page 1; then, in a second incremental update, a DSS
// with the seal and TSA chains and the root's CRL.
//
// When the TSA does not answer, the seal is still made (the applicant at
// the counter is not turned away) and the result has a zero Timestamp:
// AddDocTimestamp completes it later.
func (s *Sealer) SealDocument(ctx context.Context, doc []byte, when time.Time) (Sealed, error) {
	if when.IsZero() {
		when = time.Now()
	}
	crl, err := s.currentCRL()
	if err != nil {
		return Sealed{}, err
	}
	if r, revoked := s.Revocation(s.Serial()); revoked && !when.Before(r.At) {
		// A revoked key seals nothing more: the counter learns at once,
		// rather than the applicant later from the verify page.
		return Sealed{}, daiban.Errorf(daiban.EUNAVAILABLE, "电子签章证书（序列号 %s）已于 %s 吊销，不能再盖章：请管理员运行 `daiban keys rotate` 签发新证书并重启服务",
			r.Serial, r.At.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"))
	}
	// The DSS goes into the signed revision itself (the chains and the
	// CRL are known before signing), so the signature covers the whole
	// file and no later revision is needed.
	known := s.tsaChain()
	certs := append([]*x509.Certificate{s.cert, s.root}, known...)
	signed, token, err := s.signRevision(ctx, doc, when, certs, append([][]byte{crl}, s.tsaCRLs(ctx)...))
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	res := Sealed{PDF: signed, Serial: SerialHex(s.cert.SerialNumber)}
	if token == nil {
		return res, nil
	}
	res.Timestamp, res.TSA = token.Time, s.tsa.Name()
	if missing := newCerts(token.Certificates, certs); len(missing) > 0 {
		// A remote TSA's chain seen for the first time: a DSS update.
		s.rememberTSAChain(token.Certificates)
		if res.PDF, err = addDSS(signed, missing, s.tsaCRLs(ctx)); err != nil {
			return Sealed{}, fmt.Errorf("seal: %w", err)
		}
	}
	return res, nil
}

// signRevision appends the signature revision and fills in its CMS. token
// is nil when the TSA did not answer.
func (s *Sealer) signRevision(ctx context.Context, doc []byte, when time.Time, certs []*x509.Certificate, crls [][]byte) ([]byte, *timestamp.Timestamp, error) {
	u, err := newUpdate(doc)
	if err != nil {
		return nil, nil, err
	}
	sigID, widgetID := u.alloc(), u.alloc()
	var sig bytes.Buffer
	sig.WriteString("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n")
	sig.WriteString(byteRangeMark + "\n/Contents <" + strings.Repeat("0", 2*contentsSize) + ">\n")
	sig.WriteString("/Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 1 /V /1.2 >> >>]\n")
	fmt.Fprintf(&sig, "/M %s\n/Name %s\n/Reason %s\n/Location %s\n", pdfDate(when), pdfText(s.cert.Subject.CommonName), pdfText("电子签章：本文书由中心盖章出具"), pdfText("中国"))
	sig.WriteString("/Prop_Build << /App << /Name /daiban >> /Filter << /Name /Adobe.PPKLite >> >>\n>>")
	u.put(sigID, sig.Bytes())
	if err := u.addWidget(widgetID, sigID, "CenterSeal"); err != nil {
		return nil, nil, err
	}
	cat, catID := u.catalog()
	var c bytes.Buffer
	c.WriteString("<<\n")
	copyDict(&c, cat, catID, "AcroForm", "Perms", "DSS")
	fmt.Fprintf(&c, "/DSS %d 0 R\n", u.writeDSS(cat.Key("DSS"), certs, crls))
	fmt.Fprintf(&c, "/AcroForm << /Fields [%s] /SigFlags 3 >>\n", strings.Join(append(u.fields(), fmt.Sprintf("%d 0 R", widgetID)), " "))
	fmt.Fprintf(&c, "/Perms << /DocMDP %d 0 R >>\n>>", sigID)
	u.put(catID, c.Bytes())
	out := u.finish(0)
	var token *timestamp.Timestamp
	err = fillContents(out, len(doc), func(content []byte) ([]byte, error) {
		der, tok, err := s.cms(ctx, content)
		token = tok
		return der, err
	})
	return out, token, err
}

// addWidget writes the signature field (merged with its invisible widget
// annotation) and lists the widget in page 1's /Annots.
func (u *update) addWidget(widgetID, sigID uint32, name string) error {
	page := u.rdr.Page(1).V
	if page.IsNull() {
		return errors.New("pdf has no page")
	}
	pageID := ptrOf(page).id
	u.put(widgetID, fmt.Appendf(nil, "<< /Type /Annot /Subtype /Widget /FT /Sig /T (%s%d) /V %d 0 R /F 132 /Rect [0 0 0 0] /P %d 0 R >>",
		name, widgetID, sigID, pageID))
	annots := refsOf(page.Key("Annots"))
	var p bytes.Buffer
	p.WriteString("<<\n")
	copyDict(&p, page, pageID, "Annots")
	fmt.Fprintf(&p, "/Annots [%s]\n>>", strings.Join(append(annots, fmt.Sprintf("%d 0 R", widgetID)), " "))
	u.put(pageID, p.Bytes())
	return nil
}

// fields lists the AcroForm's existing fields.
func (u *update) fields() []string {
	cat, _ := u.catalog()
	return refsOf(cat.Key("AcroForm").Key("Fields"))
}

// fillContents computes the byte range of the signature dictionary after
// offset from, writes it, and puts sign(covered bytes) into /Contents.
func fillContents(out []byte, from int, sign func(content []byte) ([]byte, error)) error {
	br := bytes.Index(out[from:], []byte(byteRangeMark))
	if br < 0 {
		return errors.New("byte range placeholder lost")
	}
	br += from
	lt := bytes.Index(out[br:], []byte("/Contents <"))
	if lt < 0 {
		return errors.New("contents placeholder lost")
	}
	lt += br + len("/Contents ")
	gt := lt + 1 + 2*contentsSize
	if out[gt] != '>' {
		return errors.New("contents placeholder malformed")
	}
	ranges := fmt.Sprintf("/ByteRange [0 %d %d %d]", lt, gt+1, len(out)-gt-1)
	ranges += strings.Repeat(" ", len(byteRangeMark)-len(ranges))
	copy(out[br:], ranges)
	content := make([]byte, 0, len(out)-(gt+1-lt))
	content = append(append(content, out[:lt]...), out[gt+1:]...)
	der, err := sign(content)
	if err != nil {
		return err
	}
	if len(der) > contentsSize {
		return fmt.Errorf("signature (%d bytes) larger than the room reserved (%d)", len(der), contentsSize)
	}
	hex.Encode(out[lt+1:], der)
	return nil
}

// cms builds the CAdES detached signature over content with
// digitorus/pkcs7 and asks the TSA for a signature timestamp. A TSA that
// does not answer leaves tok nil, err nil.
func (s *Sealer) cms(ctx context.Context, content []byte) (der []byte, tok *timestamp.Timestamp, err error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	scv2, err := signingCertificateV2(s.cert)
	if err != nil {
		return nil, nil, err
	}
	cfg := pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{{Type: oidSigningCertificateV2, Value: asn1.RawValue{FullBytes: scv2}}}}
	if err := sd.AddSignerChain(s.cert, s.key, []*x509.Certificate{s.root}, cfg); err != nil {
		return nil, nil, err
	}
	// digitorus/pkcs7 always adds signingTime; PAdES baseline forbids it
	// (the time is /M and the timestamp). Drop it and sign the remaining
	// attributes again: they keep their DER SET OF order, and their
	// encoding is the library's own structure marshalled by encoding/asn1.
	si := &sd.GetSignedData().SignerInfos[0]
	kept := si.AuthenticatedAttributes[:0]
	for _, a := range si.AuthenticatedAttributes {
		if !a.Type.Equal(pkcs7.OIDAttributeSigningTime) {
			kept = append(kept, a)
		}
	}
	si.AuthenticatedAttributes = kept
	set, err := derSet(kept)
	if err != nil {
		return nil, nil, err
	}
	if si.EncryptedDigest, err = s.key.Sign(rand.Reader, sha256Sum(set), crypto.SHA256); err != nil {
		return nil, nil, err
	}
	if s.tsa != nil && !s.tsaResting() {
		tok, err = s.tsa.Stamp(ctx, sha256Sum(si.EncryptedDigest))
		if err == nil {
			err = si.SetUnauthenticatedAttributes([]pkcs7.Attribute{{Type: oidTimeStampToken, Value: asn1.RawValue{FullBytes: tok.RawToken}}})
			if err != nil {
				return nil, nil, err
			}
		} else {
			s.restTSA()
			s.logTSAFailure(err)
			tok = nil
		}
	}
	sd.Detach()
	der, err = sd.Finish()
	return der, tok, err
}

// derSet is the DER SET OF items (tag and all), as CMS signs attributes.
func derSet[T any](items []T) ([]byte, error) {
	b, err := asn1.Marshal(struct {
		A []T `asn1:"set"`
	}{items})
	if err != nil {
		return nil, err
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	return raw.Bytes, nil
}

// signingCertificateV2 is the ESS attribute (RFC 5035) naming the seal
// certificate by its SHA-256 hash, issuer and serial.
func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	type issuerSerial struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	}
	type essCertIDv2 struct {
		CertHash     []byte
		IssuerSerial issuerSerial
	}
	type signingCertificate struct {
		Certs []essCertIDv2
	}
	return asn1.Marshal(signingCertificate{Certs: []essCertIDv2{{
		CertHash:     sha256Sum(cert.Raw),
		IssuerSerial: issuerSerial{Issuer: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer}}, Serial: cert.SerialNumber},
	}}})
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// addDSS appends an incremental update carrying the Document Security
// Store (PAdES B-LT): the given certificates and CRLs, merged with a DSS
// already present.
func addDSS(doc []byte, certs []*x509.Certificate, crls [][]byte) ([]byte, error) {
	u, err := newUpdate(doc)
	if err != nil {
		return nil, err
	}
	cat, catID := u.catalog()
	dssID := u.writeDSS(cat.Key("DSS"), certs, crls)
	var c bytes.Buffer
	c.WriteString("<<\n")
	copyDict(&c, cat, catID, "DSS")
	fmt.Fprintf(&c, "/DSS %d 0 R\n>>", dssID)
	u.put(catID, c.Bytes())
	return u.finish(0), nil
}

// writeDSS writes a DSS dictionary holding old's entries plus certs and
// crls not yet in it, and returns its object number.
func (u *update) writeDSS(old pdf.Value, certs []*x509.Certificate, crls [][]byte) uint32 {
	certRefs, seen := existingStreams(old.Key("Certs"))
	for _, c := range certs {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			id := u.alloc()
			u.putStream(id, c.Raw)
			certRefs = append(certRefs, fmt.Sprintf("%d 0 R", id))
		}
	}
	crlRefs, seenCRL := existingStreams(old.Key("CRLs"))
	for _, c := range crls {
		if len(c) > 0 && !seenCRL[string(c)] {
			seenCRL[string(c)] = true
			id := u.alloc()
			u.putStream(id, c)
			crlRefs = append(crlRefs, fmt.Sprintf("%d 0 R", id))
		}
	}
	dssID := u.alloc()
	u.put(dssID, fmt.Appendf(nil, "<< /Type /DSS /Certs [%s] /CRLs [%s] >>", strings.Join(certRefs, " "), strings.Join(crlRefs, " ")))
	return dssID
}

// existingStreams lists the references of an array of streams and their
// contents.
func existingStreams(arr pdf.Value) ([]string, map[string]bool) {
	seen := map[string]bool{}
	for i := 0; i < arr.Len(); i++ {
		r := arr.Index(i).Reader()
		if b, err := io.ReadAll(r); err == nil {
			seen[string(b)] = true
		}
		r.Close()
	}
	return refsOf(arr), seen
}

// newCerts lists the certificates of got not in have.
func newCerts(got, have []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range got {
		found := false
		for _, h := range have {
			found = found || bytes.Equal(c.Raw, h.Raw)
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}

// pdfDate formats t as a PDF date string.
func pdfDate(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("(D:%s%c%02d'%02d')", t.Format("20060102150405"), sign, off/3600, off%3600/60)
}

// SerialHex formats a certificate serial as upper-case hex (the form
// openssl and pdfsig print, and `daiban keys revoke --serial` accepts).
func SerialHex(n *big.Int) string { return strings.ToUpper(n.Text(16)) }
