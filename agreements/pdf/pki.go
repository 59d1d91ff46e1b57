package pdf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/daiban/daiban"
)

// More files of the key directory (see InitKeys).
const (
	tsaCertFile = "tsa.pem"  // the local TSA's certificate, issued by the root
	tsaKeyFile  = "tsa.key"  // its key: serve needs it when DAIBAN_TSA_URL is unset
	crlFile     = "root.crl" // the root's certificate revocation list (DER)
	retiredGlob = "seal-*.pem"
)

// crlValidity is how long a CRL the root issues stays current. Every
// `daiban keys init --if-missing`, rotate and revoke issues a new one.
const crlValidity = 365 * 24 * time.Hour

// KeyOptions name the center and where its CRL is published.
type KeyOptions struct {
	Center string
	// CRLURL is written into the certificates' CRL distribution points
	// (BASE/pki/root.crl).
	CRLURL string
}

// rootSigner is the root CA, loaded from the key directory.
type rootSigner struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func loadRoot(dir string) (rootSigner, error) {
	kb, err := os.ReadFile(filepath.Join(dir, rootKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return rootSigner{}, daiban.Errorf(daiban.EUNAVAILABLE, "此操作需要根证书私钥 %s，它不在密钥目录 %s 中：请把离线保存的 root.key 临时放回该目录后重试，完成后再移走", rootKeyFile, dir)
	} else if err != nil {
		return rootSigner{}, err
	}
	key, err := parseSealKey(kb)
	if err != nil {
		return rootSigner{}, fmt.Errorf("keys: root key: %w", err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, rootCertFile))
	if err != nil {
		return rootSigner{}, err
	}
	cert, err := parseCertPEM(cb)
	if err != nil {
		return rootSigner{}, fmt.Errorf("keys: root certificate: %w", err)
	}
	return rootSigner{key: key, cert: cert}, nil
}

// issue makes a leaf certificate under the root.
func (r rootSigner) issue(tmpl *x509.Certificate, crlURL string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = randomSerial()
	tmpl.BasicConstraintsValid = true
	if crlURL != "" {
		tmpl.CRLDistributionPoints = []string{crlURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, r.cert, &key.PublicKey, r.key)
	return key, der, err
}

// newTSACert makes the local TSA's certificate: timeStamping only
// (critical, as RFC 3161 requires), named as the center's own TSA so no
// reader mistakes it for a third party's.
func (r rootSigner) newTSACert(center, crlURL string) (*ecdsa.PrivateKey, []byte, error) {
	cn, org := keySubject(center)
	now := time.Now().Add(-time.Hour)
	// crypto/x509 marks extended key usage non-critical; RFC 3161 §2.3
	// wants it critical (openssl ts -verify insists), so it goes in as is.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, nil, err
	}
	return r.issue(&x509.Certificate{
		Subject:         pkix.Name{CommonName: cn + " 本地时间戳服务（中心自建，非第三方）", Organization: org, OrganizationalUnit: []string{"帮办代办"}},
		NotBefore:       now,
		NotAfter:        now.AddDate(10, 0, 0),
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}, crlURL)
}

// newSeal makes a seal certificate (document signing) under the root.
func (r rootSigner) newSeal(center, crlURL string) (*ecdsa.PrivateKey, []byte, error) {
	cn, org := keySubject(center)
	now := time.Now().Add(-time.Hour)
	return r.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn + " 电子签章", Organization: org, OrganizationalUnit: []string{"帮办代办"}},
		NotBefore:   now,
		NotAfter:    now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}, crlURL)
}

// writeKeyPair writes key and certificate files, replacing existing ones
// atomically (rename).
func writeKeyPair(dir, keyName, certName string, key *ecdsa.PrivateKey, der []byte) error {
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := replaceFile(dir, keyName, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})); err != nil {
		return err
	}
	return replaceFile(dir, certName, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func replaceFile(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// Revoked is one entry of the root's CRL.
type Revoked struct {
	Serial string    `json:"serial"`
	At     time.Time `json:"revoked_at"`
	Reason string    `json:"reason"`
}

// reasons are the CRL reason codes (RFC 5280 §5.3.1) `keys revoke` accepts.
var reasons = map[string]int{
	"unspecified": 0, "keyCompromise": 1, "affiliationChanged": 3,
	"superseded": 4, "cessationOfOperation": 5,
}

func reasonName(code int) string {
	for k, v := range reasons {
		if v == code {
			return k
		}
	}
	return "unspecified"
}

// issueCRL signs a new CRL listing entries and writes root.crl.
func (r rootSigner) issueCRL(dir string, entries []x509.RevocationListEntry) error {
	now := time.Now().Add(-time.Minute).UTC()
	sort.Slice(entries, func(i, j int) bool { return entries[i].SerialNumber.Cmp(entries[j].SerialNumber) < 0 })
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(now.UnixNano()),
		ThisUpdate:                now,
		NextUpdate:                now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}, r.cert, r.key)
	if err != nil {
		return err
	}
	return replaceFile(dir, crlFile, der)
}

// readCRL parses root.crl of dir, checked against the root.
func readCRL(dir string, root *x509.Certificate) (*x509.RevocationList, []byte, error) {
	der, err := os.ReadFile(filepath.Join(dir, crlFile))
	if err != nil {
		return nil, nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, nil, err
	}
	if root == nil {
		return nil, nil, errors.New("root.pem unreadable")
	}
	if err := crl.CheckSignatureFrom(root); err != nil {
		return nil, nil, fmt.Errorf("root.crl not signed by the root: %w", err)
	}
	return crl, der, nil
}

// CompleteKeys adds what a key directory made by an older version lacks:
// the local TSA's key and certificate and the root's CRL (re-issued when
// older than a month). It needs root.key and returns what it added.
func CompleteKeys(dir string, o KeyOptions) ([]string, error) {
	var added []string
	_, tsaErr := os.Stat(filepath.Join(dir, tsaCertFile))
	var root rootSigner
	var err error
	need := func() error {
		if root.key == nil {
			root, err = loadRoot(dir)
		}
		return err
	}
	if errors.Is(tsaErr, fs.ErrNotExist) {
		if err := need(); err != nil {
			return nil, err
		}
		key, der, err := root.newTSACert(o.Center, o.CRLURL)
		if err != nil {
			return nil, err
		}
		if err := writeKeyPair(dir, tsaKeyFile, tsaCertFile, key, der); err != nil {
			return nil, err
		}
		added = append(added, tsaKeyFile, tsaCertFile)
	}
	crl, _, crlErr := readCRL(dir, nil2root(dir))
	usable := crlErr == nil && time.Now().Before(crl.NextUpdate)
	if usable && time.Since(crl.ThisUpdate) < 30*24*time.Hour {
		return added, nil
	}
	if err := need(); err != nil {
		if usable {
			return added, nil // still current; renewed when root.key is back
		}
		return added, err
	}
	var entries []x509.RevocationListEntry
	if crl != nil {
		entries = crl.RevokedCertificateEntries
	}
	if err := root.issueCRL(dir, entries); err != nil {
		return added, err
	}
	added = append(added, crlFile)
	return added, nil
}

// nil2root reads root.pem of dir (nil when unreadable).
func nil2root(dir string) *x509.Certificate {
	b, err := os.ReadFile(filepath.Join(dir, rootCertFile))
	if err != nil {
		return nil
	}
	c, _ := parseCertPEM(b)
	return c
}

// RotateSeal issues a new seal key and certificate. The old certificate is
// kept as seal-SERIAL.pem (documents sealed with it still verify: it is
// neither revoked nor expired) and its key is deleted. Running servers
// pick the new key up when restarted.
func RotateSeal(dir string, o KeyOptions) (oldSerial, newSerial string, err error) {
	root, err := loadRoot(dir)
	if err != nil {
		return "", "", err
	}
	oldPEM, err := os.ReadFile(filepath.Join(dir, sealCertFile))
	if err != nil {
		return "", "", fmt.Errorf("keys: %w", err)
	}
	old, err := parseCertPEM(oldPEM)
	if err != nil {
		return "", "", fmt.Errorf("keys: seal certificate: %w", err)
	}
	oldSerial = SerialHex(old.SerialNumber)
	if err := replaceFile(dir, "seal-"+oldSerial+".pem", oldPEM); err != nil {
		return "", "", err
	}
	key, der, err := root.newSeal(o.Center, o.CRLURL)
	if err != nil {
		return "", "", err
	}
	if err := writeKeyPair(dir, sealKeyFile, sealCertFile, key, der); err != nil {
		return "", "", err
	}
	c, _ := x509.ParseCertificate(der)
	return oldSerial, SerialHex(c.SerialNumber), nil
}

// RevokeCert adds the certificate with the given serial (hex) to the
// root's CRL, revoked from at on. Only certificates of this key directory
// (current or retired seal, local TSA) can be revoked.
func RevokeCert(dir, serial, reason string, at time.Time) (Revoked, error) {
	code, ok := reasons[reason]
	if !ok {
		return Revoked{}, daiban.Invalid("reason", "吊销原因无效：可选 keyCompromise（密钥泄露）、superseded（已被取代）、cessationOfOperation（停止使用）、affiliationChanged（机构变更）、unspecified")
	}
	serial = strings.ToUpper(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(serial), ":", ""), "0X"))
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok || n.Sign() <= 0 {
		return Revoked{}, daiban.Invalid("serial", "证书序列号无效：应为十六进制（如 pdfsig 或 openssl 显示的序列号）")
	}
	known := false
	for _, c := range keyDirCerts(dir) {
		known = known || c.SerialNumber.Cmp(n) == 0
	}
	if !known {
		return Revoked{}, daiban.Errorf(daiban.ENOTFOUND, "密钥目录 %s 中没有序列号为 %s 的签章或时间戳证书", dir, serial)
	}
	root, err := loadRoot(dir)
	if err != nil {
		return Revoked{}, err
	}
	var entries []x509.RevocationListEntry
	if crl, _, err := readCRL(dir, root.cert); err == nil {
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(n) == 0 {
				return Revoked{}, daiban.Errorf(daiban.EINVALID, "序列号为 %s 的证书已于 %s 吊销", serial, e.RevocationTime.Local().Format("2006-01-02 15:04:05"))
			}
			entries = append(entries, e)
		}
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)
	entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at, ReasonCode: code})
	if err := root.issueCRL(dir, entries); err != nil {
		return Revoked{}, err
	}
	return Revoked{Serial: serial, At: at, Reason: reason}, nil
}

// keyDirCerts lists the seal (current and retired) and TSA certificates.
func keyDirCerts(dir string) []*x509.Certificate {
	names, _ := filepath.Glob(filepath.Join(dir, retiredGlob))
	names = append(names, filepath.Join(dir, sealCertFile), filepath.Join(dir, tsaCertFile))
	var out []*x509.Certificate
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			if c, err := parseCertPEM(b); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// crlCache keeps the parsed CRL of a key directory, re-read when the file
// changes (`daiban keys revoke` writes a new one while servers run).
type crlCache struct {
	mu      sync.Mutex
	dir     string
	root    *x509.Certificate
	checked time.Time
	mod     time.Time
	der     []byte
	list    *x509.RevocationList
}

func (c *crlCache) get() (*x509.RevocationList, []byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list != nil && time.Since(c.checked) < time.Second {
		return c.list, c.der, nil
	}
	c.checked = time.Now()
	st, err := os.Stat(filepath.Join(c.dir, crlFile))
	if err != nil {
		return nil, nil, daiban.Errorf(daiban.EUNAVAILABLE, "密钥目录 %s 中缺少根证书吊销列表 root.crl：请运行 `daiban keys init --if-missing`（需要根证书私钥）", c.dir)
	}
	if c.list != nil && st.ModTime().Equal(c.mod) {
		return c.list, c.der, nil
	}
	list, der, err := readCRL(c.dir, c.root)
	if err != nil {
		return nil, nil, daiban.Errorf(daiban.EUNAVAILABLE, "根证书吊销列表 root.crl 无效（%v）：请运行 `daiban keys init --if-missing`", err)
	}
	if time.Until(list.NextUpdate) < 30*24*time.Hour {
		slog.Warn("根证书吊销列表即将或已经过期：请把 root.key 临时放回密钥目录并运行 daiban keys init --if-missing 重新签发", "next_update", list.NextUpdate)
	}
	c.list, c.der, c.mod = list, der, st.ModTime()
	return list, der, nil
}

// currentCRL is the root's CRL as DER, for the DSS.
func (s *Sealer) currentCRL() ([]byte, error) {
	_, der, err := s.crls.get()
	return der, err
}

// CRL returns the root's current CRL (DER), served at GET /pki/root.crl.
func (s *Sealer) CRL() ([]byte, error) { return s.currentCRL() }

// Revocation reports whether the certificate with the given serial (hex)
// is on the root's CRL.
func (s *Sealer) Revocation(serial string) (Revoked, bool) {
	list, _, err := s.crls.get()
	if err != nil {
		return Revoked{}, false
	}
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return Revoked{}, false
	}
	for _, e := range list.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(n) == 0 {
			return Revoked{Serial: SerialHex(n), At: e.RevocationTime, Reason: reasonName(e.ReasonCode)}, true
		}
	}
	return Revoked{}, false
}

// Serial is the current seal certificate's serial (hex).
func (s *Sealer) Serial() string { return SerialHex(s.cert.SerialNumber) }

// KnownSeal reports whether serial (hex) names a seal certificate of this
// center, current or retired.
func (s *Sealer) KnownSeal(serial string) bool {
	for _, c := range keyDirCerts(s.dir) {
		if SerialHex(c.SerialNumber) == serial {
			return true
		}
	}
	return false
}
