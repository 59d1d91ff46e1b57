package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"sigsum.org/sigsum-go/pkg/api"
	"sigsum.org/sigsum-go/pkg/checkpoint"
	"sigsum.org/sigsum-go/pkg/crypto"
	"sigsum.org/sigsum-go/pkg/requests"
	"sigsum.org/sigsum-go/pkg/server"
	"sigsum.org/sigsum-go/pkg/types"
)

// A witness cosigns the county's checkpoints (C2SP tlog-witness,
// tlog-cosignature) on a machine the county does not control: a
// supervisor's office or the city. It remembers the last tree it signed and
// cosigns a new checkpoint only with a consistency proof from that tree,
// so a rewritten history, however well re-signed with the log's key, gets
// no cosignature.
//
// The protocol is sigsum-go's (sigsum.org/sigsum-go/pkg/server.NewWitness
// parses add-checkpoint requests and answers 409 with the witness's size;
// pkg/checkpoint checks the log's signature and makes the cosignature/v1
// signature; pkg/types checks the consistency proof). What is here is the
// witness's state: one tree head, kept in a file.
type Witness struct {
	signer  crypto.Signer
	keyName string
	keyID   checkpoint.KeyId
	vkey    string
	logPub  crypto.PublicKey
	logV    note.Verifier
	origin  string
	state   string // file of the last cosigned tree: "<size>\n<base64 root>\n"

	mu   sync.Mutex
	last types.TreeHead
}

// WitnessKeyFile and WitnessStateFile are the witness's files in its
// directory (the demo keeps them under DAIBAN_KEYS).
const (
	WitnessKeyFile   = "witness.key"
	WitnessStateFile = "witness.state"
)

// NewWitness returns the witness whose Ed25519 private key (note.GenerateKey
// format; its name is the witness's name) is skey, cosigning the log whose
// note verifier key is logKey, remembering its last tree in stateFile.
func NewWitness(skey, logKey, stateFile string) (*Witness, error) {
	name, seed, err := parsePrivateKey(skey)
	if err != nil {
		return nil, err
	}
	logV, err := note.NewVerifier(strings.TrimSpace(logKey))
	if err != nil {
		return nil, fmt.Errorf("台账公钥格式错误: %w", err)
	}
	var lv checkpoint.NoteVerifier
	if err := lv.FromString(strings.TrimSpace(logKey)); err != nil || lv.Type != checkpoint.SigTypeEd25519 {
		return nil, errors.New("台账公钥应为 Ed25519 签名公钥")
	}
	var priv crypto.PrivateKey
	copy(priv[:], seed)
	signer := crypto.NewEd25519Signer(&priv)
	pub := signer.Public()
	nv := checkpoint.NewNoteVerifier(name, checkpoint.SigTypeCosignature, &pub)
	w := &Witness{signer: signer, keyName: name, keyID: nv.KeyId, vkey: nv.String(),
		logPub: lv.PublicKey, logV: logV, origin: logV.Name(), state: stateFile, last: types.NewEmptyTreeHead()}
	if err := w.load(); err != nil {
		return nil, err
	}
	return w, nil
}

// parsePrivateKey splits "PRIVATE+KEY+<name>+<hash>+<base64(1 || seed)>".
func parsePrivateKey(skey string) (name string, seed []byte, err error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", nil, errors.New("见证私钥格式错误")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return "", nil, errors.New("见证私钥格式错误（应为 Ed25519）")
	}
	return parts[2], b[1:], nil
}

// VerifierKey is the witness's cosignature verifier key
// ("<name>+<hash>+<base64(0x04 || key)>"), which DAIBAN_WITNESSES and
// `daiban ledger verify --witness-key` take.
func (w *Witness) VerifierKey() string { return w.vkey }

// Size is the size of the last tree the witness cosigned.
func (w *Witness) Size() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last.Size
}

// Handler serves POST /add-checkpoint (C2SP tlog-witness).
func (w *Witness) Handler() http.Handler {
	return server.NewWitness(&server.Config{Timeout: 10 * time.Second}, w)
}

// AddCheckpoint implements sigsum's api.Witness: it cosigns req's
// checkpoint when it is signed by the log and consistent with the last tree
// this witness cosigned.
func (w *Witness) AddCheckpoint(_ context.Context, req requests.AddCheckpoint) ([]checkpoint.CosignatureLine, error) {
	if req.Checkpoint.Origin != w.origin {
		return nil, api.ErrNotFound.WithError(fmt.Errorf("unknown log %q", req.Checkpoint.Origin))
	}
	// sigsum's own check assumes a sigsum origin; the log's signature is a
	// plain signed note, so it is checked as one.
	var buf bytes.Buffer
	if err := req.Checkpoint.ToASCII(&buf); err != nil {
		return nil, api.ErrBadRequest.WithError(err)
	}
	if _, err := note.Open(buf.Bytes(), note.VerifierList(w.logV)); err != nil {
		return nil, api.ErrForbidden.WithError(fmt.Errorf("log signature: %w", err))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	next := req.Checkpoint.TreeHead
	if req.OldSize != w.last.Size {
		return nil, api.ErrConflict.WithOldSize(w.last.Size)
	}
	if err := w.consistent(req.Proof, next); err != nil {
		return nil, api.ErrUnprocessableEntity.WithError(err)
	}
	cs, err := req.Checkpoint.Cosign(w.signer, uint64(time.Now().Unix()))
	if err != nil {
		return nil, err
	}
	if err := w.store(next); err != nil {
		return nil, err
	}
	w.last = next
	return []checkpoint.CosignatureLine{{KeyName: w.keyName, KeyId: w.keyID, Cosignature: cs}}, nil
}

// consistent checks that next extends the last cosigned tree.
func (w *Witness) consistent(proof types.ConsistencyProof, next types.TreeHead) error {
	switch {
	case next.Size < w.last.Size:
		return fmt.Errorf("tree of size %d is older than the cosigned %d", next.Size, w.last.Size)
	case w.last.Size == 0:
		return nil
	case next.Size == w.last.Size:
		if next.RootHash != w.last.RootHash {
			return errors.New("same size, different root: the history was rewritten")
		}
		return nil
	}
	if err := proof.Verify(&w.last, &next); err != nil {
		return fmt.Errorf("not consistent with the cosigned tree of size %d: %w", w.last.Size, err)
	}
	return nil
}

func (w *Witness) load() error {
	b, err := os.ReadFile(w.state)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("无法读取见证状态 %s: %w", w.state, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 {
		return fmt.Errorf("见证状态 %s 格式错误", w.state)
	}
	size, err := strconv.ParseUint(lines[0], 10, 64)
	if err != nil {
		return fmt.Errorf("见证状态 %s 格式错误", w.state)
	}
	root, err := crypto.HashFromBase64(lines[1])
	if err != nil {
		return fmt.Errorf("见证状态 %s 格式错误", w.state)
	}
	w.last = types.TreeHead{Size: size, RootHash: root}
	return nil
}

// store writes the new tree head to a temporary file and renames it into
// place, so the state is the old tree or the new one, never half of each.
func (w *Witness) store(th types.TreeHead) error {
	tmp, err := os.CreateTemp(filepath.Dir(w.state), ".witness-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintf(tmp, "%d\n%s\n", th.Size, base64.StdEncoding.EncodeToString(th.RootHash[:]))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), w.state)
}

// LoadOrCreateWitnessKey returns the private key in path, creating an
// Ed25519 key named name (mode 0600) when the file does not exist.
func LoadOrCreateWitnessKey(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", err
		}
		if err := createKey(filepath.Dir(path), path, name); err != nil {
			return "", err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", fmt.Errorf("无法读取见证私钥 %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
