package pdf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daiban/daiban"
)

// Files of the key directory. Keys are PKCS#8 PEM, mode 0600; the
// directory is 0700.
const (
	rootCertFile = "root.pem"
	rootKeyFile  = "root.key"
	sealCertFile = "seal.pem"
	sealKeyFile  = "seal.key"
)

// InitKeys creates the center's keys in dir with no CRL distribution
// point; see InitKeysWith.
func InitKeys(dir, centerName string) error {
	return InitKeysWith(dir, KeyOptions{Center: centerName})
}

// InitKeysWith creates the center's seal keys in dir: a self-signed root
// CA, a seal (document signing) certificate and the local TSA's
// certificate issued by it (all ECDSA P-256), and the root's CRL. The
// certificates name the center as o.Center (its Chinese name, which PDF
// readers show as the signer) and point at o.CRLURL for revocation. It
// refuses to overwrite existing keys. dir should live outside the
// database and the repository; after initialisation root.key can be moved
// offline (it is needed again only to rotate or revoke).
func InitKeysWith(dir string, o KeyOptions) error {
	if err := makeKeyDir(dir); err != nil {
		return err
	}
	cn, org := keySubject(o.Center)
	rootKey, rootDER, err := newRootCert(cn, org, time.Now().Add(-time.Hour))
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	rootCert, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	root := rootSigner{key: rootKey, cert: rootCert}
	rootKeyDER, err := x509.MarshalPKCS8PrivateKey(rootKey)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	for _, f := range []keyFile{{rootKeyFile, "PRIVATE KEY", rootKeyDER}, {rootCertFile, "CERTIFICATE", rootDER}} {
		if err := f.write(dir); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
	}
	sealKey, sealDER, err := root.newSeal(o.Center, o.CRLURL)
	if err == nil {
		err = writeKeyPair(dir, sealKeyFile, sealCertFile, sealKey, sealDER)
	}
	if err == nil {
		_, err = CompleteKeys(dir, o)
	}
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

// makeKeyDir makes dir (mode 0700), refusing one that already holds keys.
func makeKeyDir(dir string) error {
	if strings.TrimSpace(dir) == "" {
		return daiban.Invalid("dir", "请指定密钥目录")
	}
	for _, f := range []string{rootCertFile, rootKeyFile, sealCertFile, sealKeyFile, tsaCertFile, tsaKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return daiban.Errorf(daiban.EINVALID, "密钥目录 %s 中已存在 %s，为防止覆盖现有电子签章密钥，已拒绝重新生成", dir, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keys: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

// keySubject returns the certificates' common name and organization: the
// center's own (Chinese) name, which PDF readers show as the signer. The
// names are UTF8String in the certificates; the signature dictionary
// writes the name as a UTF-16 hex string (pdfText), so any character is
// safe there too.
func keySubject(centerName string) (cn string, org []string) {
	cn = strings.TrimSpace(centerName)
	if cn == "" {
		cn = "政务服务中心"
	}
	return cn, []string{cn}
}

// newRootCert makes the self-signed root CA, valid for 20 years from now.
func newRootCert(cn string, org []string, now time.Time) (*ecdsa.PrivateKey, []byte, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn + " 根证书", Organization: org, OrganizationalUnit: []string{"帮办代办"}},
		NotBefore:             now,
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, err
	}
	return rootKey, rootDER, nil
}

// keyFile is one PEM file of the key directory.
type keyFile struct {
	name, typ string
	der       []byte
}

// write creates the file in dir (mode 0600), refusing to overwrite one.
func (f keyFile) write(dir string) error {
	fh, err := os.OpenFile(filepath.Join(dir, f.name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = pem.Encode(fh, &pem.Block{Type: f.typ, Bytes: f.der})
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n.Add(n, big.NewInt(1))
}

// Sealer applies the center's seal (a PDF digital signature) to documents.
// It is safe for concurrent use.
type Sealer struct {
	key     crypto.Signer
	cert    *x509.Certificate
	root    *x509.Certificate
	sealPEM []byte
	rootPEM []byte
	dir     string
	tsa     TSA       // the TSA in use: local, or DAIBAN_TSA_URL (UseTSA)
	local   *localTSA // the center's own TSA, nil when tsa.key is absent
	crls    *crlCache

	chainMu      sync.Mutex
	remoteChain  []*x509.Certificate // DAIBAN_TSA_URL's chain, from its last token
	remoteCRLs   [][]byte            // that chain's CRLs (see tsaCRLs)
	tsaDownUntil atomic.Int64        // Unix ns until which seals skip the TSA (restTSA)
}

// LoadSealer reads the seal key and certificates from dir (made by
// InitKeys) and checks that they belong together: the key matches the seal
// certificate, which chains to the root. Key files readable by group or
// others are refused.
func LoadSealer(dir string) (*Sealer, error) {
	keyPEM, sealPEM, rootPEM, err := readSealFiles(dir)
	if err != nil {
		return nil, err
	}
	bad := func(what string) error {
		return daiban.Errorf(daiban.EUNAVAILABLE, "电子签章密钥目录 %s 中的%s无效，请检查或重新运行 `daiban keys init`（新目录）", dir, what)
	}
	signer, err := parseSealKey(keyPEM)
	if err != nil {
		return nil, bad("私钥 " + sealKeyFile)
	}
	cert, err := parseCertPEM(sealPEM)
	if err != nil {
		return nil, bad("证书 " + sealCertFile)
	}
	root, err := parseCertPEM(rootPEM)
	if err != nil {
		return nil, bad("证书 " + rootCertFile)
	}
	type pubEqual interface{ Equal(crypto.PublicKey) bool }
	if pe, ok := signer.Public().(pubEqual); !ok || !pe.Equal(cert.PublicKey) {
		return nil, bad("私钥（与签章证书不匹配）")
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, bad("签章证书（不是由根证书签发或已过期）")
	}
	s := &Sealer{key: signer, cert: cert, root: root, sealPEM: sealPEM, rootPEM: rootPEM, dir: dir,
		crls: &crlCache{dir: dir, root: root}}
	if s.local, err = loadLocalTSA(dir, root); err != nil {
		return nil, bad("本地时间戳服务证书 " + tsaCertFile + "（" + err.Error() + "）")
	}
	if s.local != nil {
		s.tsa = s.local
	}
	return s, nil
}

// loadLocalTSA reads tsa.key and tsa.pem (nil, nil when absent).
func loadLocalTSA(dir string, root *x509.Certificate) (*localTSA, error) {
	kb, err := os.ReadFile(filepath.Join(dir, tsaKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	key, err := parseSealKey(kb)
	if err != nil {
		return nil, err
	}
	cb, err := os.ReadFile(filepath.Join(dir, tsaCertFile))
	if err != nil {
		return nil, err
	}
	cert, err := parseCertPEM(cb)
	if err != nil {
		return nil, err
	}
	if err := cert.CheckSignatureFrom(root); err != nil {
		return nil, errors.New("不是由根证书签发")
	}
	return &localTSA{key: key, cert: cert, chain: []*x509.Certificate{root}, now: time.Now}, nil
}

// Ready reports what the sealer lacks to make PAdES B-LT seals: a TSA
// (local or DAIBAN_TSA_URL) and the root's CRL. The message tells the
// administrator what to run.
func (s *Sealer) Ready() error {
	if s.tsa == nil {
		return daiban.Errorf(daiban.EUNAVAILABLE, "密钥目录 %s 中没有本地时间戳服务的证书（tsa.pem、tsa.key），也未设置 DAIBAN_TSA_URL：请运行 `daiban keys init --if-missing`（需要根证书私钥 root.key）补齐，或设置 DAIBAN_TSA_URL 指向省级/国家授时中心的时间戳服务", s.dir)
	}
	_, err := s.currentCRL()
	return err
}

// readSealFiles reads the seal key, the seal certificate and the root
// certificate from dir, refusing a key file readable by group or others.
func readSealFiles(dir string) (keyPEM, sealPEM, rootPEM []byte, err error) {
	missing := func() error {
		return daiban.Errorf(daiban.EUNAVAILABLE, "未找到电子签章密钥（目录 %s），请先运行 `daiban keys init` 生成密钥", dir)
	}
	keyPath := filepath.Join(dir, sealKeyFile)
	st, err := os.Stat(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, missing()
	} else if err != nil {
		return nil, nil, nil, fmt.Errorf("seal: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, nil, nil, daiban.Errorf(daiban.EUNAVAILABLE, "电子签章私钥 %s 的权限过宽（%04o），请执行 chmod 600 %s", keyPath, st.Mode().Perm(), keyPath)
	}
	var out [3][]byte
	for i, name := range []string{sealKeyFile, sealCertFile, rootCertFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, missing()
		} else if err != nil {
			return nil, nil, nil, err
		}
		out[i] = b
	}
	return out[0], out[1], out[2], nil
}

// parseSealKey reads a PKCS#8 private key that can sign.
func parseSealKey(keyPEM []byte) (crypto.Signer, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, nil
}

// parseCertPEM reads one PEM certificate.
func parseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// RootPEM returns the root certificate (PEM), to be served at
// GET /api/v1/certificate and imported by whoever verifies documents.
func (s *Sealer) RootPEM() []byte { return append([]byte(nil), s.rootPEM...) }

// SealPEM returns the seal certificate (PEM).
func (s *Sealer) SealPEM() []byte { return append([]byte(nil), s.sealPEM...) }
