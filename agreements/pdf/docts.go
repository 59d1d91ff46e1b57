package pdf

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
)

// AddDocTimestamp completes a document sealed while the TSA was away: it
// appends a PAdES document timestamp (a /DocTimeStamp signature,
// SubFilter ETSI.RFC3161, over the whole file as it is) in an incremental
// update, with the TSA's chain and the root's CRL added to the DSS. The
// seal's DocMDP permits exactly such updates, so the seal stays valid. It
// returns the new file and the certified time.
func (s *Sealer) AddDocTimestamp(ctx context.Context, doc []byte) ([]byte, time.Time, error) {
	if s.tsa == nil {
		return nil, time.Time{}, s.Ready()
	}
	crl, err := s.currentCRL()
	if err != nil {
		return nil, time.Time{}, err
	}
	u, err := newUpdate(doc)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("timestamp: %w", err)
	}
	sigID, widgetID := u.alloc(), u.alloc()
	var sig bytes.Buffer
	sig.WriteString("<< /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161\n")
	sig.WriteString(byteRangeMark + "\n/Contents <" + strings.Repeat("0", 2*contentsSize) + ">\n>>")
	u.put(sigID, sig.Bytes())
	if err := u.addWidget(widgetID, sigID, "DocTimeStamp"); err != nil {
		return nil, time.Time{}, err
	}
	cat, catID := u.catalog()
	var c bytes.Buffer
	c.WriteString("<<\n")
	copyDict(&c, cat, catID, "AcroForm", "DSS")
	fmt.Fprintf(&c, "/AcroForm << /Fields [%s] /SigFlags 3 >>\n", strings.Join(append(u.fields(), fmt.Sprintf("%d 0 R", widgetID)), " "))
	chain := s.tsaChain()
	fmt.Fprintf(&c, "/DSS %d 0 R\n>>", u.writeDSS(cat.Key("DSS"), append([]*x509.Certificate{s.cert, s.root}, chain...), append([][]byte{crl}, s.tsaCRLs(ctx)...)))
	u.put(catID, c.Bytes())
	out := u.finish(0)
	var tok *timestamp.Timestamp
	err = fillContents(out, len(doc), func(content []byte) ([]byte, error) {
		t, err := s.tsa.Stamp(ctx, sha256Sum(content))
		if err != nil {
			return nil, err
		}
		tok = t
		s.tsaDownUntil.Store(0) // it answers again: seals stop skipping it
		return t.RawToken, nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("timestamp: %w", err)
	}
	if missing := newCerts(tok.Certificates, append(chain, s.root)); len(missing) > 0 {
		s.rememberTSAChain(tok.Certificates)
		if out, err = addDSS(out, missing, s.tsaCRLs(ctx)); err != nil {
			return nil, time.Time{}, err
		}
	}
	return out, tok.Time, nil
}
