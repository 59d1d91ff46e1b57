package users

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/daiban/daiban"
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

// Password rules: long enough, and not one of the passwords every guesser
// tries first (common.txt, embedded, plus the surname+digits pattern).
const (
	minPasswordRunes = 10
	maxPasswordBytes = 256
)

var (
	errPasswordShort  = daiban.Invalid("password", "密码至少 %d 个字符", minPasswordRunes)
	errPasswordLong   = daiban.Invalid("password", "密码不能超过 %d 个字节", maxPasswordBytes)
	errPasswordCommon = daiban.Invalid("password", "该密码过于常见，容易被猜中（如 1234567890、password、woaini1314、姓氏拼音加数字），请换一个")
	errPasswordName   = daiban.Invalid("password", "密码不能与用户名相同或包含用户名")
)

//go:embed common.txt
var commonText string

// common is the set of refused passwords, lower case.
var common = func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonText, "\n") {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	// Surname pinyin followed by the digits people pick.
	surnames := strings.Fields("zhang wang li liu chen yang zhao huang zhou wu xu sun hu zhu gao lin he guo ma luo liang song zheng xie han tang feng yu dong xiao cheng cao yuan deng fu shen zeng peng lu su jiang cai jia ding wei xue ye yan pan du dai xia zhong tian ren qin shi")
	digits := strings.Fields("123456 1234567 12345678 123456789 1234567890 888888 666666 520 1314 5201314 521 111111 000000 123123 654321")
	for _, n := range surnames {
		for _, d := range digits {
			m[n+d] = true
		}
	}
	return m
}()

// validatePassword enforces the password rules for the account username.
func validatePassword(username, p string) error {
	if len([]rune(p)) < minPasswordRunes {
		return errPasswordShort
	}
	if len(p) > maxPasswordBytes {
		return errPasswordLong
	}
	lower := strings.ToLower(p)
	if common[lower] || oneCharacter(lower) {
		return errPasswordCommon
	}
	if username != "" && (lower == username || len(username) >= 4 && strings.Contains(lower, username)) {
		return errPasswordName
	}
	return nil
}

// oneCharacter reports whether p repeats a single character (aaaaaaaaaa).
func oneCharacter(p string) bool {
	first, _ := utf8.DecodeRuneInString(p)
	return strings.Trim(p, string(first)) == ""
}
