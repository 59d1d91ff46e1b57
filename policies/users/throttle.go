package users

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The sign-in throttle. There is no lockout: past a number of free
// failures, each further attempt must wait an interval that doubles with
// every failure, from FirstDelay up to MaxDelay, counted from the latest
// failure. An attempt that comes too early is answered 429 with
// Retry-After and a message naming the time, without its password being
// checked and without making the wait longer, so hammering gains nothing
// and the real user gets in once the wait is over.
//
// Failures count against the username (over UsernameWindow) and against
// the client address (over AddressWindow). An address the user signed in
// from within KnownAddressTTL is the user's own: there only that pair's
// failures count, so guesses from elsewhere cannot keep the user out at
// their usual desk.
//
// Schedule for a username (FreeFailuresUsername = 5):
//
//	failures in window  0–4    5     6     7     8      9      10     11+
//	wait before next    none   1min  2min  4min  8min   16min  32min  1h
//
// which allows at most 5 + 6 + 23 = 34 guesses a day against one account
// from everywhere that is not one of its known addresses. The address's
// schedule is the same after FreeFailuresAddress failures.
//
// Concurrency: each attempt takes advisory locks on its username and
// address, reads the failures and records itself as a failure, in one
// transaction, before the password is checked; a success removes that
// record. So N simultaneous guesses count N, on every server instance.
const (
	FreeFailuresUsername = 5
	FreeFailuresAddress  = 20
	FirstDelay           = time.Minute
	MaxDelay             = time.Hour
	UsernameWindow       = 24 * time.Hour
	AddressWindow        = time.Hour
	KnownAddressTTL      = 30 * 24 * time.Hour
)

// delayAfter is the wait after the latest of n failures, free of them free.
func delayAfter(n, free int) time.Duration {
	if n < free {
		return 0
	}
	return min(FirstDelay<<min(n-free, 10), MaxDelay)
}

// ThrottledError is the answer to an attempt that came before its wait
// ended; it carries the wait for the Retry-After header.
type ThrottledError struct {
	err        *daiban.Error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap gives the contract error (too_many_requests and its message).
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfter returns how long a throttled sign-in must wait, or 0 when err
// is not a throttle.
func RetryAfter(err error) time.Duration {
	var t *ThrottledError
	if errors.As(err, &t) {
		return t.RetryAfter
	}
	return 0
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, for the
// Retry-After header ("" when err is not a throttle).
func RetryAfterSeconds(err error) string {
	d := RetryAfter(err)
	if d <= 0 {
		return ""
	}
	return fmt.Sprint(int64((d + time.Second - 1) / time.Second))
}

var beijing = time.FixedZone("CST", 8*3600)

func throttled(now time.Time, wait time.Duration) error {
	secs := int64((wait + time.Second - 1) / time.Second)
	in := fmt.Sprintf("%d 秒", secs)
	if secs >= 60 {
		in = fmt.Sprintf("%d 分钟", (secs+59)/60)
	}
	msg := fmt.Sprintf("登录失败次数过多，为保护账号安全，请在 %s后再试（北京时间 %s 以后）", in, now.Add(wait).In(beijing).Format("15:04:05"))
	return &ThrottledError{err: daiban.Errorf(daiban.ETOOMANYREQUESTS, "%s", msg), RetryAfter: wait}
}

// admit decides whether an attempt for username from address may have its
// password checked. When it may, the attempt is recorded as a failure
// (committed before it returns); the caller removes that record on success.
func (s *Service) admit(ctx context.Context, username, address string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Always the username first, then the address: no two attempts
		// wait on each other in a cycle.
		if err := s.q.LoginLockUsername(ctx, tx, username); err != nil {
			return err
		}
		if err := s.q.LoginLockAddress(ctx, tx, address); err != nil {
			return err
		}
		now := s.now() // read under the locks, so records go in time order
		known, err := s.q.LoginKnownAddress(ctx, tx, username, address, now.Add(-KnownAddressTTL))
		if err != nil {
			return err
		}
		st, err := s.q.LoginFailureState(ctx, tx, dbsqlc.LoginFailureStateParams{
			Username: username, Address: address, PairOnly: known,
			UserSince: now.Add(-UsernameWindow), AddressSince: now.Add(-AddressWindow)})
		if err != nil {
			return err
		}
		wait := max(st.LastUsername.Add(delayAfter(int(st.ByUsername), FreeFailuresUsername)).Sub(now),
			st.LastAddress.Add(delayAfter(int(st.ByAddress), FreeFailuresAddress)).Sub(now))
		if wait > 0 {
			return throttled(now, wait)
		}
		return s.q.LoginFailureRecord(ctx, tx, username, address, now)
	})
}

// succeeded clears the failures of the pair (the attempt's own record
// among them) and remembers the address as one of the user's own.
func (s *Service) succeeded(ctx context.Context, tx pgx.Tx, username, address string) error {
	if err := s.q.LoginFailureClearPair(ctx, tx, username, address); err != nil {
		return err
	}
	return s.q.LoginKnownAddressSet(ctx, tx, username, address, s.now())
}
