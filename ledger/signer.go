package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
)

// Key files written by LoadOrCreateKey.
const (
	// KeyFile holds the private signing key (note.GenerateKey format), mode
	// 0600. It must never be stored in the database or the repository: who
	// holds it can sign a rewritten ledger.
	KeyFile = "ledger.key"
	// VerifierKeyFile holds the public verifier key
	// ("<origin>+<hash>+<base64>"), which supervisors use with
	// `daiban ledger verify`.
	VerifierKeyFile = "ledger.pub"
)

// Signer signs and verifies checkpoints: an Ed25519 signed note
// (golang.org/x/mod/sumdb/note) whose text is a C2SP tlog-checkpoint body,
//
//	<origin>\n<size>\n<base64 root>\n
//
// The key's name is the log's origin.
type Signer struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// Checkpoint is a signed statement of the tree: its size, root hash and the
// signed note text itself.
type Checkpoint struct {
	Size int64     `json:"size"`
	Root tlog.Hash `json:"root"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// NewSigner makes a Signer from a private key in note.GenerateKey's format.
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("台账签名私钥格式错误: %w", err)
	}
	vkey, err := verifierKeyOf(skey)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("台账验证公钥格式错误: %w", err)
	}
	return &Signer{signer: s, verifier: v, vkey: vkey}, nil
}

// verifierKeyOf derives the public verifier key from a private key
// "PRIVATE+KEY+<name>+<hash>+<base64(alg || seed)>".
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // the base64 part may contain "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("台账签名私钥格式错误")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return "", errors.New("台账签名私钥格式错误（应为 Ed25519）")
	}
	pub := ed25519.NewKeyFromSeed(b[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Origin is the log's origin line, the key's name.
func (s *Signer) Origin() string { return s.signer.Name() }

// VerifierKey returns the public key that verifies this signer's
// checkpoints.
func (s *Signer) VerifierKey() string { return s.vkey }

// Verifier returns the note verifier of this signer's public key.
func (s *Signer) Verifier() note.Verifier { return s.verifier }

// Sign returns the signed note of a checkpoint of the tree with size
// leaves and root hash root.
func (s *Signer) Sign(size int64, root tlog.Hash) (string, error) {
	msg, err := note.Sign(&note.Note{Text: checkpointBody(s.Origin(), size, root)}, s.signer)
	if err != nil {
		return "", fmt.Errorf("ledger: signing checkpoint: %w", err)
	}
	return string(msg), nil
}

// Open verifies a signed checkpoint note against this signer's key.
func (s *Signer) Open(msg []byte) (Checkpoint, error) { return OpenCheckpoint(msg, s.verifier) }

func checkpointBody(origin string, size int64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// OpenCheckpoint verifies the signature of a checkpoint note with v and
// parses its body. The origin must be the key's name; lines after the root
// (C2SP extension lines) are ignored.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &invalid):
			return Checkpoint{}, errors.New("签名与内容不符（内容被改动）")
		case errors.As(err, &unverified):
			return Checkpoint{}, errors.New("签名无法用台账公钥验证")
		}
		return Checkpoint{}, errors.New("检查点不是有效的签名文本")
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("检查点格式错误")
	}
	if lines[0] != v.Name() {
		return Checkpoint{}, fmt.Errorf("检查点来源 %q 与公钥 %q 不符", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, errors.New("检查点中的记录数格式错误")
	}
	b, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(b) != tlog.HashSize {
		return Checkpoint{}, errors.New("检查点中的根哈希格式错误")
	}
	cp := Checkpoint{Size: size, Note: string(msg)}
	copy(cp.Root[:], b)
	return cp, nil
}

// LoadOrCreateKey returns the signer whose private key is dir/ledger.key,
// generating a new Ed25519 key named origin on first use. dir is created
// with mode 0700 and the key file with 0600; a key file readable by others
// is refused. The public verifier key is (re)written to dir/ledger.pub.
// Several processes starting together end up with the same key.
//
// The private key must stay on the server's disk (or a secrets store): never
// in the database, whose owner could otherwise sign a rewritten ledger, nor
// in the repository.
func LoadOrCreateKey(dir, origin string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("无法创建密钥目录 %s: %w", dir, err)
	}
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir, path, origin); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("无法读取台账签名私钥 %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取台账签名私钥 %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("台账签名私钥 %s 的权限过宽（%04o），应为 0600", path, fi.Mode().Perm())
	}
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, err
	}
	if s.Origin() != origin {
		return nil, fmt.Errorf("台账签名私钥 %s 属于 %q，与本台账 %q 不符", path, s.Origin(), origin)
	}
	if err := writePublic(dir, s.VerifierKey()); err != nil {
		return nil, err
	}
	return s, nil
}

// createKey writes a new key to a private temporary file and links it into
// place, so the key file appears complete or not at all; when another
// process won the race its key is kept.
func createKey(dir, path, origin string) error {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return daiban.Invalid("origin", "台账名称 %q 不能用作密钥名: %v", origin, err)
	}
	tmp, err := os.CreateTemp(dir, ".ledger-key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("无法写入台账签名私钥: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(skey + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("无法写入台账签名私钥: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("无法写入台账签名私钥 %s: %w", path, err)
	}
	return nil
}

func writePublic(dir, vkey string) error {
	path := filepath.Join(dir, VerifierKeyFile)
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == vkey {
		return nil
	}
	tmp, err := os.CreateTemp(dir, ".ledger-pub-*")
	if err != nil {
		return fmt.Errorf("无法写入台账验证公钥: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(vkey + "\n")
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("无法写入台账验证公钥 %s: %w", path, err)
	}
	return nil
}
