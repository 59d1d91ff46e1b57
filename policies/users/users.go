// Package users holds staff accounts, sign-in with expiring revocable
// sessions, and the throttle on failed sign-ins.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// User is a staff account as the rest of the system sees it.
type User struct {
	ID       int64         `json:"-"`
	Username string        `json:"username"`
	Name     string        `json:"name"`
	Role     policies.Role `json:"role"`
	Region   string        `json:"region"`
	Disabled bool          `json:"disabled"`
	Created  time.Time     `json:"created_at"`
}

// Session is a signed-in user with the session's CSRF token and expiry.
type Session struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// SessionTTL is how long a session lasts. The sign-in throttle's limits
// are in throttle.go.
const SessionTTL = 12 * time.Hour

var (
	errBadLogin  = daiban.Errorf(daiban.EUNAUTHENTICATED, "用户名或密码错误")
	errNoSession = daiban.Errorf(daiban.EUNAUTHENTICATED, "请先登录")
)

// Service manages users and sessions.
type Service struct {
	pool   *pgxpool.Pool
	q      *dbsqlc.Queries
	now    func() time.Time
	record Recorder
}

// NewService returns a Service on pool that writes every account change
// into the ledger through record (ledger.RecordAccount).
func NewService(pool *pgxpool.Pool, record Recorder) *Service {
	return &Service{pool: pool, q: dbsqlc.New(), now: time.Now, record: record}
}

// Get returns one user by username.
func (s *Service) Get(ctx context.Context, username string) (_ User, err error) {
	defer daiban.Wrap(&err, "users: get %s", username)
	row, err := s.q.UserGetByUsername(ctx, s.pool, username)
	if err != nil {
		return User{}, daiban.NoRows(err, "用户 %s 不存在", username)
	}
	return fromRow(row), nil
}

// List returns the users whose region lies inside scope ("" = all).
func (s *Service) List(ctx context.Context, scope string) (_ []User, err error) {
	defer daiban.Wrap(&err, "users: list users in %s", scope)
	rows, err := s.q.UserList(ctx, s.pool, scope)
	if err != nil {
		return nil, err
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Grants returns every enabled user's role and region, for the authorizer.
func (s *Service) Grants(ctx context.Context) ([]policies.Grant, error) {
	rows, err := s.q.UserGrants(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]policies.Grant, 0, len(rows))
	for _, r := range rows {
		out = append(out, policies.Grant{Username: r.Username, Role: policies.Role(r.Role), Region: r.Region})
	}
	return out, nil
}

// Login checks a username and password from a client address and opens a
// session. The returned token is shown once; only its hash is stored. The
// attempt passes the throttle (see admit) before the password is checked.
func (s *Service) Login(ctx context.Context, username, password, address string) (token string, sess Session, err error) {
	defer daiban.Wrap(&err, "users: sign in")
	// Input nobody could have typed is said so (422); a name no account
	// has is a failed sign-in (401). Both answer at once, before any lock
	// or hash (and before an oversized name reaches an index).
	if err := checkSignIn(username, password); err != nil {
		return "", Session{}, err
	}
	if validateUsername(username) != nil || len(password) > maxPasswordBytes || len(address) > 64 {
		return "", Session{}, errBadLogin
	}
	if err := s.admit(ctx, username, address); err != nil {
		return "", Session{}, err
	}
	row, err := s.q.UserGetByUsername(ctx, s.pool, username)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", Session{}, err
	}
	hash := row.PasswordHash
	if err != nil {
		hash = dummyHash
	}
	if !CheckPassword(hash, password) || row.Disabled || row.ID == 0 {
		return "", Session{}, errBadLogin // the attempt stays recorded as a failure
	}
	token, tokenHash := newToken()
	csrf, _ := newToken()
	expires := s.now().Add(SessionTTL).Truncate(time.Second)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.q.SessionCreate(ctx, tx, dbsqlc.SessionCreateParams{TokenHash: tokenHash, UserID: row.ID, CsrfToken: csrf, ExpiresAt: expires}); err != nil {
			return err
		}
		return s.succeeded(ctx, tx, username, address)
	})
	if err != nil {
		return "", Session{}, err
	}
	return token, Session{User: fromRow(row), CSRFToken: csrf, ExpiresAt: expires}, nil
}

// Authenticate returns the live session of a token: not expired, not
// revoked, its user not disabled. The user's role and region are read fresh
// on every request, so a change takes effect at once.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, errNoSession
	}
	row, err := s.q.SessionGet(ctx, s.pool, hashToken(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, errNoSession
	} else if err != nil {
		return Session{}, err
	}
	if row.Session.RevokedAt != nil || !s.now().Before(row.Session.ExpiresAt) || row.User.Disabled {
		return Session{}, errNoSession
	}
	return Session{User: fromRow(row.User), CSRFToken: row.Session.CsrfToken, ExpiresAt: row.Session.ExpiresAt}, nil
}

// Logout revokes the session of a token.
func (s *Service) Logout(ctx context.Context, token string) error {
	n, err := s.q.SessionRevoke(ctx, s.pool, hashToken(token))
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoSession
	}
	return nil
}

// Purge deletes long-expired sessions and old sign-in failures.
func (s *Service) Purge(ctx context.Context) error {
	if _, err := s.q.SessionPurgeExpired(ctx, s.pool); err != nil {
		return err
	}
	if _, err := s.q.LoginFailurePurge(ctx, s.pool, s.now().Add(-max(UsernameWindow, AddressWindow))); err != nil {
		return err
	}
	_, err := s.q.LoginKnownAddressPurge(ctx, s.pool, s.now().Add(-KnownAddressTTL))
	return err
}

func validateUsername(u string) error {
	if len(u) < 2 || len(u) > 64 {
		return daiban.Invalid("username", "用户名应为 2 至 64 个字符")
	}
	for i, c := range u {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '.' || c == '-')
		if !ok {
			return daiban.Invalid("username", "用户名只能包含小写字母、数字和 _ . -，并以字母或数字开头")
		}
	}
	return nil
}

func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

func fromRow(r dbsqlc.User) User {
	return User{ID: r.ID, Username: r.Username, Name: r.Name, Role: policies.Role(r.Role), Region: r.Region, Disabled: r.Disabled, Created: r.CreatedAt}
}
