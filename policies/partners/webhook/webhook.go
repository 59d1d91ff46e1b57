// Package webhook is the signed exchange between daiban and its partners
// (the 12345 hotline platform, an SMS gateway, a provincial platform), in
// both directions. It depends on the standard library only, so a partner
// can vendor it as the reference implementation of the contract:
//
//	X-Daiban-Timestamp: <Unix seconds>
//	X-Daiban-Signature: sha256=<hex HMAC-SHA-256(key, timestamp + "." + body)>
//
// The key is the partner's API key (shown once when the administrator
// made it). A receiver refuses a request whose timestamp is more than
// MaxSkew away from its own clock, so a captured request cannot be
// replayed later, and the Receiver here also drops a delivery id it has
// already accepted, so a retried delivery has its effect once.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names of the contract.
const (
	TimestampHeader = "X-Daiban-Timestamp"
	SignatureHeader = "X-Daiban-Signature"
	// DeliveryHeader carries the id of an outgoing notification: the same
	// id on a retry, so the receiver can drop what it already has.
	DeliveryHeader = "X-Daiban-Delivery"
)

// MaxSkew is how old (or how far in the future) a signed request may be.
const MaxSkew = 5 * time.Minute

// MaxBody is the largest body the Receiver reads.
const MaxBody = 1 << 20

// Sign returns the signature header value of body at timestamp ts.
func Sign(key []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SignRequest sets the timestamp and signature headers of r for body.
func SignRequest(r *http.Request, key, body []byte, now time.Time) {
	ts := now.Unix()
	r.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	r.Header.Set(SignatureHeader, Sign(key, ts, body))
}

// Errors of Verify.
var (
	ErrMissing   = errors.New("webhook: timestamp or signature header missing")
	ErrStale     = errors.New("webhook: timestamp outside the accepted window (replay?)")
	ErrSignature = errors.New("webhook: signature does not match")
)

// Verify checks the signature headers h of body against key at now.
func Verify(key []byte, h http.Header, body []byte, now time.Time) error {
	tsText, sig := h.Get(TimestampHeader), h.Get(SignatureHeader)
	if tsText == "" || sig == "" {
		return ErrMissing
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrMissing
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrStale
	}
	if !hmac.Equal([]byte(Sign(key, ts, body)), []byte(strings.TrimSpace(sig))) {
		return ErrSignature
	}
	return nil
}

// Receiver is the reference receiving end: an http.Handler that verifies
// each request and hands each delivery to Handle once. Handle's error
// answers 500, so the sender tries again later.
type Receiver struct {
	Key    []byte
	Handle func(delivery string, body []byte) error
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]bool
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if rc.Now != nil {
		now = rc.Now
	}
	if err := Verify(rc.Key, r.Header, body, now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(DeliveryHeader)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if id != "" && rc.seen[id] {
		w.WriteHeader(http.StatusOK) // already have it: acknowledge again
		return
	}
	if err := rc.Handle(id, body); err != nil {
		http.Error(w, fmt.Sprintf("not accepted: %v", err), http.StatusInternalServerError)
		return
	}
	if rc.seen == nil {
		rc.seen = map[string]bool{}
	}
	if id != "" {
		rc.seen[id] = true
	}
	w.WriteHeader(http.StatusOK)
}
