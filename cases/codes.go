package cases

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/big"
)

// CodeSender delivers a one-time code to an applicant's phone (a text
// message in production): notify.CodeSender sends through the SMS
// gateway partner, falling back to LogCodeSender.
type CodeSender interface {
	SendCode(ctx context.Context, phone, purpose, text string) error
}

// LogCodeSender is the default CodeSender: one log line with no personal
// data (the phone masked). ShowText adds the message with its code, for a
// demo without a text-message gateway only (daiban serve --demo).
type LogCodeSender struct {
	Logger   *slog.Logger
	ShowText bool
}

// SendCode logs the sending.
func (s LogCodeSender) SendCode(ctx context.Context, phone, purpose, text string) error {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	args := []any{"purpose", purpose, "phone", MaskPhone(phone)}
	if s.ShowText {
		args = append(args, "demo_text", text)
	}
	l.InfoContext(ctx, "one-time code sent", args...)
	return nil
}

// MaxCodeTries is how many wrong one-time codes void the code.
const MaxCodeTries = 5

// NewOneTimeCode returns a random six-digit code.
func NewOneTimeCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// HashCode binds a one-time code to what it confirms (purpose and row),
// so a stored hash is useless anywhere else.
func HashCode(purpose, row, code string) []byte {
	m := hmac.New(sha256.New, []byte("daiban one-time code "+purpose))
	m.Write([]byte(row + "\x00" + code))
	return m.Sum(nil)
}

// CodeMatches compares a typed code with a stored hash in constant time.
func CodeMatches(hash []byte, purpose, row, code string) bool {
	return len(hash) > 0 && hmac.Equal(hash, HashCode(purpose, row, code))
}
