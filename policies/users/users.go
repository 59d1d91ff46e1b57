// Package users holds staff accounts, sign-in with expiring revocable
// sessions, and the throttle on failed sign-ins.
package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/regions"
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

// Limits of sign-in. Failures are counted in a sliding window per username
// and per client address; past either limit sign-in answers 429.
const (
	SessionTTL          = 12 * time.Hour
	FailureWindow       = 15 * time.Minute
	MaxFailuresUsername = 5
	MaxFailuresAddress  = 20
)

var (
	errPasswordShort = daiban.Invalid("password", "密码至少 8 个字符")
	errPasswordLong  = daiban.Invalid("password", "密码过长")
	errBadLogin      = daiban.Errorf(daiban.EUNAUTHENTICATED, "用户名或密码错误")
	errThrottled     = daiban.Errorf(daiban.ETOOMANYREQUESTS, "登录失败次数过多，请 15 分钟后再试")
	errNoSession     = daiban.Errorf(daiban.EUNAUTHENTICATED, "请先登录")
)

// Service manages users and sessions.
type Service struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	now  func() time.Time
}

// NewService returns a Service on pool.
func NewService(pool *pgxpool.Pool) *Service {
	return &Service{pool: pool, q: dbsqlc.New(), now: time.Now}
}

// NewUser is the input to Create.
type NewUser struct {
	Username string
	Name     string
	Role     policies.Role
	Region   string
	Password string
}

// Create adds a staff account.
func (s *Service) Create(ctx context.Context, in NewUser) (_ User, err error) {
	defer daiban.Wrap(&err, "users: create %s", in.Username)
	in.Username = strings.TrimSpace(in.Username)
	in.Name = strings.TrimSpace(in.Name)
	if err := validateUsername(in.Username); err != nil {
		return User{}, err
	}
	if in.Name == "" {
		return User{}, daiban.Invalid("name", "姓名不能为空")
	}
	if err := s.checkGrant(ctx, in.Role, in.Region); err != nil {
		return User{}, err
	}
	if err := validatePassword(in.Password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	row, err := s.q.UserCreate(ctx, s.pool, dbsqlc.UserCreateParams{Username: in.Username, Name: in.Name, Role: string(in.Role), Region: in.Region, PasswordHash: hash})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return User{}, daiban.Invalid("username", "用户名 %s 已存在", in.Username)
	} else if err != nil {
		return User{}, err
	}
	return fromRow(row), nil
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

// Update is a partial change of a user; nil fields stay as they are.
type Update struct {
	Name     *string        `json:"name"`
	Role     *policies.Role `json:"role"`
	Region   *string        `json:"region"`
	Disabled *bool          `json:"disabled"`
	Password *string        `json:"password"`
}

// Update changes a user. A change of role or region takes effect at once
// because every request reads the user afresh; disabling the account or
// setting a new password also ends the user's sessions.
func (s *Service) Update(ctx context.Context, username string, u Update) (_ User, err error) {
	defer daiban.Wrap(&err, "users: update %s", username)
	cur, err := s.Get(ctx, username)
	if err != nil {
		return User{}, err
	}
	role, region := cur.Role, cur.Region
	if u.Role != nil {
		role = *u.Role
	}
	if u.Region != nil {
		region = *u.Region
	}
	if err := s.checkGrant(ctx, role, region); err != nil {
		return User{}, err
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return User{}, daiban.Invalid("name", "姓名不能为空")
	}
	p := dbsqlc.UserUpdateParams{Username: username, Name: u.Name, Role: (*string)(u.Role), Region: u.Region, Disabled: u.Disabled}
	if u.Password != nil {
		if err := validatePassword(*u.Password); err != nil {
			return User{}, err
		}
		hash, err := HashPassword(*u.Password)
		if err != nil {
			return User{}, err
		}
		p.PasswordHash = &hash
	}
	var out User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.q.UserUpdate(ctx, tx, p)
		if err != nil {
			return daiban.NoRows(err, "用户 %s 不存在", username)
		}
		out = fromRow(row)
		if out.Disabled || u.Password != nil {
			return s.q.SessionRevokeUser(ctx, tx, row.ID)
		}
		return nil
	})
	return out, err
}

// Login checks a username and password from a client address and opens a
// session. The returned token is shown once; only its hash is stored.
func (s *Service) Login(ctx context.Context, username, password, address string) (token string, sess Session, err error) {
	defer daiban.Wrap(&err, "users: sign in %s", username)
	since := s.now().Add(-FailureWindow)
	counts, err := s.q.LoginFailureCounts(ctx, s.pool, username, address, since)
	if err != nil {
		return "", Session{}, err
	}
	if counts.ByUsername >= MaxFailuresUsername || counts.ByAddress >= MaxFailuresAddress {
		return "", Session{}, errThrottled
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
		if err := s.q.LoginFailureRecord(ctx, s.pool, username, address); err != nil {
			return "", Session{}, err
		}
		return "", Session{}, errBadLogin
	}
	token, tokenHash := newToken()
	csrf, _ := newToken()
	expires := s.now().Add(SessionTTL).Truncate(time.Second)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.q.SessionCreate(ctx, tx, dbsqlc.SessionCreateParams{TokenHash: tokenHash, UserID: row.ID, CsrfToken: csrf, ExpiresAt: expires}); err != nil {
			return err
		}
		return s.q.LoginFailureClear(ctx, tx, username)
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
	_, err := s.q.LoginFailurePurge(ctx, s.pool, s.now().Add(-24*time.Hour))
	return err
}

func (s *Service) checkGrant(ctx context.Context, role policies.Role, region string) error {
	if !role.Valid() {
		return daiban.Invalid("role", "角色 %q 无效，应为 %s 之一", role, policies.JoinRoles("、"))
	}
	r, err := regions.NewStore(s.pool).Get(ctx, region)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return daiban.Invalid("region", "地区代码 %q 不存在", region)
	} else if err != nil {
		return err
	}
	want := map[policies.Role]string{policies.RoleTownshipAgent: regions.Township, policies.RoleVillageAgent: regions.Village, policies.RoleAdmin: regions.County}
	if lv, ok := want[role]; ok && r.Level != lv {
		return daiban.Invalid("region", "角色 %s 应属于%s级地区，%s（%s）不是", role, levelName[lv], r.Name, r.Code)
	}
	return nil
}

var levelName = map[string]string{regions.County: "县", regions.Township: "镇街", regions.Village: "村"}

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
