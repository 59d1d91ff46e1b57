// Package pii guards personal numbers at rest: ID numbers (身份证号码,
// 统一社会信用代码) and phone numbers are sealed with AES-256-GCM under a key
// kept in DAIBAN_KEYS (file pii.key, never in the database), and found by
// exact value through a keyed blind index (HMAC-SHA-256). A database dump or
// a backup alone therefore holds none of them.
//
// A sealed value is: key version (4 bytes, big-endian), a random 12-byte
// nonce, the GCM ciphertext and tag. The associated data names the field
// (table and column) and the row, so a ciphertext copied into another row
// or column does not open. Keys rotate: the file holds every version, the
// newest seals, any opens, and Indexes gives a value's index under each, so
// an exact search finds rows written before and after a rotation.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Field names what a sealed value or an index is: "table.column". It is
// bound into the associated data and the index, so values of two fields
// never stand in for each other.
type Field string

// The fields that hold personal numbers.
const (
	CaseIDNumber Field = "cases.applicant_id_number"
	CasePhone    Field = "cases.applicant_phone"
	// IdempotentResponse is a stored API response (it may show a case
	// with its applicant's numbers in full).
	IdempotentResponse Field = "idempotency_keys.response"
	// SignLinkToken is a signing link's token (row: the document id).
	SignLinkToken Field = "sign_links.token"
	// AppointmentPhone is a booking's phone (row: the booking code).
	AppointmentPhone Field = "appointments.phone"
	// DeliveryAddress is the postal address results are sent to (row: the
	// case id).
	DeliveryAddress Field = "case_deliveries.address"
	// PartnerKey is a partner's API key, also its HMAC secret (row: the
	// key's public prefix).
	PartnerKey Field = "partners.key"
)

const (
	versionLen = 4
	nonceLen   = 12
	keyLen     = 32
)

// ErrOpen is returned when a sealed value does not open: a wrong or
// missing key version, a value moved from another row or field, or a
// changed byte.
var ErrOpen = errors.New("pii: sealed value does not open (wrong key, row or field, or altered)")

// version is one key version with its derived keys.
type version struct {
	n    uint32
	aead cipher.AEAD
	idx  []byte // blind index key
}

// Keys seals, opens and indexes personal numbers. It is safe for
// concurrent use. Loaded from a file, it rereads the file when it changes
// (a rotation adds a version while the server runs).
type Keys struct {
	mu       sync.RWMutex
	versions map[uint32]*version
	current  *version

	path    string // "" when not loaded from a file
	modTime time.Time
	checked time.Time
}

// newVersion derives the encryption and index keys of one version from
// its secret with HKDF-SHA-256, so neither derived key reveals the other.
func newVersion(n uint32, secret []byte) (*version, error) {
	if len(secret) != keyLen {
		return nil, fmt.Errorf("个人信息密钥第 %d 版长度应为 %d 字节，实为 %d", n, keyLen, len(secret))
	}
	encKey, err := hkdf.Key(sha256.New, secret, nil, "daiban pii aes-256-gcm", keyLen)
	if err != nil {
		return nil, err
	}
	idxKey, err := hkdf.Key(sha256.New, secret, nil, "daiban pii blind index", keyLen)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &version{n: n, aead: aead, idx: idxKey}, nil
}

// New returns Keys holding the given secrets (version → 32 bytes); the
// highest version seals. Tests and the key file use it.
func New(secrets map[uint32][]byte) (*Keys, error) {
	k := &Keys{}
	if err := k.set(secrets); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keys) set(secrets map[uint32][]byte) error {
	if len(secrets) == 0 {
		return errors.New("个人信息密钥文件中没有密钥")
	}
	vs := make(map[uint32]*version, len(secrets))
	var cur *version
	for n, s := range secrets {
		v, err := newVersion(n, s)
		if err != nil {
			return err
		}
		vs[n] = v
		if cur == nil || n > cur.n {
			cur = v
		}
	}
	k.mu.Lock()
	k.versions, k.current = vs, cur
	k.mu.Unlock()
	return nil
}

// Current is the version that seals.
func (k *Keys) Current() uint32 {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.n
}

// VersionPrefix is how a value sealed under version n begins, for finding
// rows still sealed under an older version.
func VersionPrefix(n uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, n)
}

// VersionOf returns the key version a sealed value was made with.
func VersionOf(sealed []byte) (uint32, bool) {
	if len(sealed) < versionLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed), true
}

// ad is the associated data: the field and the row it belongs to.
func ad(f Field, row string) []byte {
	return []byte("daiban/pii\x00" + string(f) + "\x00" + row)
}

// Seal encrypts clear for field f of the row named row (a stable,
// unique name of the row, e.g. the case number) under the current key.
func (k *Keys) Seal(f Field, row string, clear []byte) []byte {
	k.refresh()
	k.mu.RLock()
	v := k.current
	k.mu.RUnlock()
	out := make([]byte, versionLen+nonceLen, versionLen+nonceLen+len(clear)+v.aead.Overhead())
	binary.BigEndian.PutUint32(out, v.n)
	if _, err := rand.Read(out[versionLen:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return v.aead.Seal(out, out[versionLen:], clear, ad(f, row))
}

// SealString is Seal of a string.
func (k *Keys) SealString(f Field, row, clear string) []byte {
	return k.Seal(f, row, []byte(clear))
}

// Open decrypts a value sealed by Seal for the same field and row, under
// whichever version sealed it.
func (k *Keys) Open(f Field, row string, sealed []byte) ([]byte, error) {
	n, ok := VersionOf(sealed)
	if !ok || len(sealed) < versionLen+nonceLen {
		return nil, ErrOpen
	}
	v := k.version(n)
	if v == nil {
		return nil, fmt.Errorf("%w: key version %d unknown", ErrOpen, n)
	}
	clear, err := v.aead.Open(nil, sealed[versionLen:versionLen+nonceLen], sealed[versionLen+nonceLen:], ad(f, row))
	if err != nil {
		return nil, ErrOpen
	}
	return clear, nil
}

// OpenString is Open returning a string.
func (k *Keys) OpenString(f Field, row string, sealed []byte) (string, error) {
	b, err := k.Open(f, row, sealed)
	return string(b), err
}

// version returns key version n, rereading the key file once when n is
// newer than what was loaded (another process rotated).
func (k *Keys) version(n uint32) *version {
	k.refresh()
	k.mu.RLock()
	v := k.versions[n]
	k.mu.RUnlock()
	if v == nil && k.path != "" {
		k.reload(true)
		k.mu.RLock()
		v = k.versions[n]
		k.mu.RUnlock()
	}
	return v
}

// Normalize is the form a number is indexed in: without spaces and
// dashes, letters in upper case (a final x of an ID number is X).
func Normalize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\u3000':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(s))
}

// Index is the blind index of value for field f under the current key:
// HMAC-SHA-256 of the normalised value with a key derived for indexing
// only. Equal values give equal indexes; the index reveals nothing else
// without the key.
func (k *Keys) Index(f Field, value string) []byte {
	k.refresh()
	k.mu.RLock()
	v := k.current
	k.mu.RUnlock()
	return index(v, f, value)
}

// Indexes is value's index under every key version, current first: a
// search matches any of them, so rows not yet re-indexed by a rotation
// are still found.
func (k *Keys) Indexes(f Field, value string) [][]byte {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := [][]byte{index(k.current, f, value)}
	for n, v := range k.versions {
		if n != k.current.n {
			out = append(out, index(v, f, value))
		}
	}
	return out
}

func index(v *version, f Field, value string) []byte {
	m := hmac.New(sha256.New, v.idx)
	m.Write([]byte(string(f) + "\x00" + Normalize(value)))
	return m.Sum(nil)
}
