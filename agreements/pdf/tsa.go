package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is an RFC 3161 time-stamping authority.
type TSA interface {
	// Stamp returns a timestamp token over a SHA-256 digest.
	Stamp(ctx context.Context, digest []byte) (*timestamp.Timestamp, error)
	// Name is "local" for the center's own TSA, else the service's URL.
	Name() string
}

// LocalTSAPolicy is the policy OID of daiban's local TSA ("the center's
// own clock, no third party"), under the arc 2.25 (ITU-T X.667), which
// needs no registration. Go's encoding/asn1 refuses arcs over 31 bits, so
// the number is short rather than a full 128-bit UUID.
var LocalTSAPolicy = asn1.ObjectIdentifier{2, 25, 1690571183}

// localTSA is the center's own TSA: a key and certificate under the
// center root (tsa.key, tsa.pem, made by `daiban keys init`). Its time is
// the server's clock, vouched for by the center itself.
type localTSA struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate // issuers, up to the root
	now   func() time.Time
}

func (t *localTSA) Name() string { return "local" }

func (t *localTSA) Stamp(_ context.Context, digest []byte) (*timestamp.Timestamp, error) {
	resp, err := t.respond(digest, nil)
	if err != nil {
		return nil, err
	}
	return timestamp.ParseResponse(resp)
}

// respond makes a DER TimeStampResp over digest.
func (t *localTSA) respond(digest []byte, nonce *big.Int) ([]byte, error) {
	ts := timestamp.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: digest,
		Time: t.now().UTC().Truncate(time.Second), Accuracy: time.Second,
		Policy: LocalTSAPolicy, Nonce: nonce,
		AddTSACertificate: true, Certificates: t.chain,
	}
	return ts.CreateResponseWithOpts(t.cert, t.key, crypto.SHA256)
}

// ServeHTTP answers RFC 3161 requests over HTTP (application/timestamp-query),
// so the local TSA can also serve other instances or a test can stop it.
func (t *localTSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "只接受 POST application/timestamp-query", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil {
		http.Error(w, "请求读取失败", http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil || req.HashAlgorithm != crypto.SHA256 || len(req.HashedMessage) != 32 {
		http.Error(w, "时间戳请求无效（需要 SHA-256 摘要）", http.StatusBadRequest)
		return
	}
	resp, err := t.respond(req.HashedMessage, req.Nonce)
	if err != nil {
		http.Error(w, "时间戳签发失败", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// httpTSA is a remote RFC 3161 service (DAIBAN_TSA_URL).
type httpTSA struct {
	url    string
	client *http.Client
}

func (t *httpTSA) Name() string { return t.url }

func (t *httpTSA) Stamp(ctx context.Context, digest []byte) (*timestamp.Timestamp, error) {
	nonce := new(big.Int).SetBytes(sha256Sum(append([]byte(time.Now().String()), digest...))[:8])
	reqDER, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(reqDER))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tsa %s: HTTP %d", t.url, resp.StatusCode)
	}
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("tsa %s: %w", t.url, err)
	}
	if !bytes.Equal(ts.HashedMessage, digest) || (ts.Nonce != nil && ts.Nonce.Cmp(nonce) != 0) {
		return nil, errors.New("tsa answered for another request")
	}
	return ts, nil
}

// tsaChain is the TSA's certificate chain as far as known: the local
// TSA's, or what a remote TSA last sent.
func (s *Sealer) tsaChain() []*x509.Certificate {
	if s.tsa == nil {
		return nil
	}
	if s.tsa == TSA(s.local) {
		return []*x509.Certificate{s.local.cert, s.root}
	}
	s.chainMu.Lock()
	defer s.chainMu.Unlock()
	return s.remoteChain
}

func (s *Sealer) rememberTSAChain(c []*x509.Certificate) {
	s.chainMu.Lock()
	s.remoteChain, s.remoteCRLs = c, nil
	s.chainMu.Unlock()
}

// tsaCRLs is the revocation data of a remote TSA's chain: the CRLs its
// certificates' distribution points publish (HTTP), fetched when the
// chain is learnt and again once one is past its next update. The local
// TSA's certificate is covered by the root's CRL. A CRL that cannot be
// fetched is left out and logged; the seal goes on.
func (s *Sealer) tsaCRLs(ctx context.Context) [][]byte {
	if s.tsa == nil || s.tsa == TSA(s.local) {
		return nil
	}
	s.chainMu.Lock()
	defer s.chainMu.Unlock()
	fresh := s.remoteCRLs != nil
	for _, der := range s.remoteCRLs {
		if l, err := x509.ParseRevocationList(der); err != nil || time.Now().After(l.NextUpdate) {
			fresh = false
		}
	}
	if fresh || len(s.remoteChain) == 0 {
		return s.remoteCRLs
	}
	s.remoteCRLs = [][]byte{}
	client := &http.Client{Timeout: 3 * time.Second}
	for _, c := range s.remoteChain {
		for _, u := range c.CRLDistributionPoints {
			der, err := fetchCRL(ctx, client, u)
			if err != nil {
				slog.Warn("时间戳服务证书的吊销列表下载失败，本次盖章的 DSS 中缺少它", "url", u, "err", err)
				continue
			}
			s.remoteCRLs = append(s.remoteCRLs, der)
			break
		}
	}
	return s.remoteCRLs
}

func fetchCRL(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	der, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if _, err := x509.ParseRevocationList(der); err != nil {
		return nil, err
	}
	return der, nil
}

// UseTSA makes the sealer timestamp through the RFC 3161 service at url
// instead of the local TSA; timeout bounds each request (the counter
// waits for it).
func (s *Sealer) UseTSA(url string, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	s.tsa = &httpTSA{url: url, client: &http.Client{Timeout: timeout}}
}

// TSAName names the TSA in use: "local" or the service's URL.
func (s *Sealer) TSAName() string {
	if s.tsa == nil {
		return ""
	}
	return s.tsa.Name()
}

// LocalTSAHandler serves the local TSA over HTTP (nil without one).
func (s *Sealer) LocalTSAHandler() http.Handler {
	if s.local == nil {
		return nil
	}
	return s.local
}

// tsaRest is how long seals skip a TSA that failed: the counter does not
// wait for a timeout on every document while it is away (the documents
// await their timestamps; the job keeps asking).
const tsaRest = 30 * time.Second

func (s *Sealer) tsaResting() bool {
	return time.Now().UnixNano() < s.tsaDownUntil.Load()
}

func (s *Sealer) restTSA() { s.tsaDownUntil.Store(time.Now().Add(tsaRest).UnixNano()) }

func (s *Sealer) logTSAFailure(err error) {
	slog.Warn("时间戳服务无应答：文书已盖章，待时间戳服务恢复后补加文档时间戳", "tsa", s.tsa.Name(), "err", err)
}

// LocalTSAPEM is the local TSA's certificate (PEM); nil when another TSA
// is in use.
func (s *Sealer) LocalTSAPEM() []byte {
	if s.local == nil || s.tsa != TSA(s.local) {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.local.cert.Raw})
}
