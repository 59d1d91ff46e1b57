package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's 19 MiB / 2 passes / 1 lane minimum, which
// costs a few tens of milliseconds here and keeps sign-in bursts cheap.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashSlots bounds how many argon2id computations run at once: each takes
// argonMemory KiB, and a burst of sign-ins must not multiply that by the
// number of clients (32 at once took 600 MiB before this bound).
var hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

func idKey(password, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(password, salt, t, m, p, n)
}

// HashPassword returns an encoded argon2id hash in the PHC string format,
// so parameters can change later without breaking stored hashes.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := idKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the encoded hash, in
// constant time for a given hash.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false
	}
	if m > 256*1024 || t > 16 || p == 0 {
		return false // not a hash this service made: refuse rather than spend
	}
	got := idKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a username does not exist, so that a
// failed sign-in takes the same time whether or not the user exists.
var dummyHash, _ = HashPassword("daiban-no-such-user")

// ValidatePassword enforces the minimum a county office can live with.
func validatePassword(p string) error {
	if len([]rune(p)) < 8 {
		return errPasswordShort
	}
	if len(p) > 256 {
		return errPasswordLong
	}
	return nil
}
