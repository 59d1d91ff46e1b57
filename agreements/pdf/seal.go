package pdf

import (
	"bytes"
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
	"time"
	"unicode/utf16"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"

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

// InitKeys creates the center's seal keys in dir: a self-signed root CA and
// a seal (document signing) certificate issued by it, both ECDSA P-256.
// The certificates name the center as centerName (its Chinese name, which
// PDF readers show as the signer). It refuses to overwrite existing keys. dir should live outside
// the database and the repository; after initialisation root.key can be
// moved offline (only seal.key, seal.pem and root.pem are needed to seal).
func InitKeys(dir, centerName string) error {
	if err := makeKeyDir(dir); err != nil {
		return err
	}
	cn, org := keySubject(centerName)
	now := time.Now().Add(-time.Hour)
	rootKey, rootDER, err := newRootCert(cn, org, now)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	sealKey, sealDER, err := newSealCert(cn, org, now, rootKey, rootDER)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	rootKeyDER, err := x509.MarshalPKCS8PrivateKey(rootKey)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	sealKeyDER, err := x509.MarshalPKCS8PrivateKey(sealKey)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	files := []keyFile{
		{rootKeyFile, "PRIVATE KEY", rootKeyDER},
		{sealKeyFile, "PRIVATE KEY", sealKeyDER},
		{rootCertFile, "CERTIFICATE", rootDER},
		{sealCertFile, "CERTIFICATE", sealDER},
	}
	for _, f := range files {
		if err := f.write(dir); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
	}
	return nil
}

// makeKeyDir makes dir (mode 0700), refusing one that already holds keys.
func makeKeyDir(dir string) error {
	if strings.TrimSpace(dir) == "" {
		return daiban.Invalid("dir", "请指定密钥目录")
	}
	for _, f := range []string{rootCertFile, rootKeyFile, sealCertFile, sealKeyFile} {
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
// names are UTF8String in the certificates; only the signature
// dictionary's Name must stay ASCII (see LoadSealer).
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

// newSealCert makes the seal certificate, issued by the root, valid for
// 10 years from now.
func newSealCert(cn string, org []string, now time.Time, rootKey *ecdsa.PrivateKey, rootDER []byte) (*ecdsa.PrivateKey, []byte, error) {
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, nil, err
	}
	sealKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sealTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn + " 电子签章", Organization: org, OrganizationalUnit: []string{"帮办代办"}},
		NotBefore:             now,
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		BasicConstraintsValid: true,
	}
	sealDER, err := x509.CreateCertificate(rand.Reader, sealTmpl, root, &sealKey.PublicKey, rootKey)
	if err != nil {
		return nil, nil, err
	}
	return sealKey, sealDER, nil
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

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Sealer applies the center's seal (a PDF digital signature) to documents.
// It is safe for concurrent use.
type Sealer struct {
	key     crypto.Signer
	cert    *x509.Certificate
	root    *x509.Certificate
	sealPEM []byte
	rootPEM []byte
	name    string // ASCII signer name written into the signature dictionary
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
	name := sigDictName(cert.Subject.CommonName)
	return &Sealer{key: signer, cert: cert, root: root, sealPEM: sealPEM, rootPEM: rootPEM, name: name}, nil
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

// asciiName keeps the characters pdfsign can write safely into a PDF
// string (it does not escape non-ASCII text).
// sigDictName is the signer's name for the signature dictionary: the
// certificate's (Chinese) common name when pdfsign can write it — it
// writes non-ASCII text as raw UTF-16BE between parentheses without
// escaping, so a name whose encoding holds a parenthesis, backslash or
// carriage-return byte would break the PDF — else its ASCII letters, else
// a generic name.
func sigDictName(cn string) string {
	if !isPrintableASCII(cn) && utf16Safe(cn) {
		return cn
	}
	if n := asciiName(cn); n != "" {
		return n
	}
	return "Government Service Center Seal"
}

// utf16Safe reports whether s in UTF-16BE (after the byte-order mark)
// contains no byte that ends or escapes a PDF literal string.
func utf16Safe(s string) bool {
	for _, u := range utf16.Encode([]rune(s)) {
		for _, b := range [2]byte{byte(u >> 8), byte(u)} {
			if b == '(' || b == ')' || b == '\\' || b == '\r' {
				return false
			}
		}
	}
	return true
}

func asciiName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7f && r != '(' && r != ')' && r != '\\' {
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// Seal signs pdf with the seal key: an invisible certification signature
// (PKCS#7 detached, SHA-256, no later changes permitted) that carries the
// seal and root certificates, dated when. The signature dictionary's
// name/reason/location are ASCII; the Chinese text is on the page.
func (s *Sealer) Seal(doc []byte, when time.Time) ([]byte, error) {
	if when.IsZero() {
		when = time.Now()
	}
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("seal: read pdf: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(doc) + 16<<10)
	err = sign.Sign(bytes.NewReader(doc), &out, rdr, int64(len(doc)), sign.SignData{
		Signature: sign.SignDataSignature{
			Info: sign.SignDataSignatureInfo{
				Name:     s.name,
				Reason:   "Sealed document of the government service center",
				Location: "CN",
				Date:     when,
			},
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
		},
		Signer:            s.key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       s.cert,
		CertificateChains: [][]*x509.Certificate{{s.cert, s.root}},
	})
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return out.Bytes(), nil
}

// RootPEM returns the root certificate (PEM), to be served at
// GET /api/v1/certificate and imported by whoever verifies documents.
func (s *Sealer) RootPEM() []byte { return append([]byte(nil), s.rootPEM...) }

// SealPEM returns the seal certificate (PEM).
func (s *Sealer) SealPEM() []byte { return append([]byte(nil), s.sealPEM...) }
