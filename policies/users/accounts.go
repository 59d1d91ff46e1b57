package users

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Account changes are accountable: each names its actor, is refused when
// the actor would change its own role, region or state, and is written
// into the ledger in the change's own transaction. An administrator cannot
// give a county-wide account a case-acting role (it would then read every
// applicant's full ID number): that is refused with a message sending the
// change to the server's operator, who makes it with `daiban user`, which
// the ledger records as "cli:<os user>".

// Actor is who changes an account. A signed-in user carries its role; the
// command line ("cli:<os user>") and the system's own jobs
// ("system:<job>") carry none.
type Actor struct {
	Username string
	Role     policies.Role
}

// signedIn reports whether the actor came through the API or the pages.
func (a Actor) signedIn() bool { return a.Role != "" }

// Recorder writes an event about an account into the ledger through db,
// the change's transaction. ledger.RecordAccount is one; the ledger's HTTP
// side imports policies, so policies/users takes it at construction.
type Recorder func(ctx context.Context, db dbsqlc.DBTX, actor, region, typ string, payload any) error

var (
	errNoActor   = errors.New("users: an account change needs an actor")
	errNoLedger  = errors.New("users: an account change needs a ledger recorder")
	errOwnChange = daiban.Errorf(daiban.EFORBIDDEN, "不能更改自己的角色、地区或停用状态，请由另一位管理员办理")
)

// NewUser is the input to Create.
type NewUser struct {
	Username string
	Name     string
	Role     policies.Role
	Region   string
	Password string
}

// Create adds a staff account on behalf of by.
func (s *Service) Create(ctx context.Context, by Actor, in NewUser) (_ User, err error) {
	defer daiban.Wrap(&err, "users: create %s", in.Username)
	if err := s.canRecord(by); err != nil {
		return User{}, err
	}
	in.Username = strings.TrimSpace(in.Username)
	in.Name = strings.TrimSpace(in.Name)
	if err := validateUsername(in.Username); err != nil {
		return User{}, err
	}
	if in.Name == "" {
		return User{}, daiban.Invalid("name", "姓名不能为空")
	}
	if err := s.checkGrant(ctx, by, in.Role, in.Region); err != nil {
		return User{}, err
	}
	if err := validatePassword(in.Username, in.Password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	var out User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.q.UserCreate(ctx, tx, dbsqlc.UserCreateParams{Username: in.Username, Name: in.Name, Role: string(in.Role), Region: in.Region, PasswordHash: hash})
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return daiban.Invalid("username", "用户名 %s 已存在", in.Username)
		} else if err != nil {
			return err
		}
		out = fromRow(row)
		return s.record(ctx, tx, by.Username, out.Region, "user.created",
			map[string]any{"username": out.Username, "role": out.Role, "region": out.Region})
	})
	return out, err
}

// Update is a partial change of a user; nil fields stay as they are.
type Update struct {
	Name     *string        `json:"name"`
	Role     *policies.Role `json:"role"`
	Region   *string        `json:"region"`
	Disabled *bool          `json:"disabled"`
	Password *string        `json:"password"`
}

// Update changes a user on behalf of by. A change of role or region takes
// effect at once because every request reads the user afresh; disabling
// the account or setting a new password also ends the user's sessions.
// Each change is a ledger entry (user.role, user.region, user.name,
// user.disabled, user.enabled, user.password_reset).
func (s *Service) Update(ctx context.Context, by Actor, username string, u Update) (_ User, err error) {
	defer daiban.Wrap(&err, "users: update %s", username)
	if err := s.canRecord(by); err != nil {
		return User{}, err
	}
	if u.Name != nil && strings.TrimSpace(*u.Name) == "" {
		return User{}, daiban.Invalid("name", "姓名不能为空")
	}
	var hash *string
	if u.Password != nil {
		if err := validatePassword(username, *u.Password); err != nil {
			return User{}, err
		}
		h, err := HashPassword(*u.Password)
		if err != nil {
			return User{}, err
		}
		hash = &h
	}
	var out User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.q.UserGetForUpdate(ctx, tx, username)
		if err != nil {
			return daiban.NoRows(err, "用户 %s 不存在", username)
		}
		cur := fromRow(row)
		if err := s.checkUpdate(ctx, by, cur, u); err != nil {
			return err
		}
		row, err = s.q.UserUpdate(ctx, tx, dbsqlc.UserUpdateParams{Username: username, Name: u.Name, Role: (*string)(u.Role), Region: u.Region, Disabled: u.Disabled, PasswordHash: hash})
		if err != nil {
			return err
		}
		out = fromRow(row)
		if out.Disabled || u.Password != nil {
			if err := s.q.SessionRevokeUser(ctx, tx, row.ID); err != nil {
				return err
			}
		}
		return s.recordUpdate(ctx, tx, by, cur, out, u.Password != nil)
	})
	return out, err
}

// checkUpdate applies the rules of who may change what to an update of cur.
func (s *Service) checkUpdate(ctx context.Context, by Actor, cur User, u Update) error {
	role, region := cur.Role, cur.Region
	if u.Role != nil {
		role = *u.Role
	}
	if u.Region != nil {
		region = *u.Region
	}
	changesGrant := role != cur.Role || region != cur.Region
	if by.Username == cur.Username && (changesGrant || u.Disabled != nil && *u.Disabled != cur.Disabled) {
		return errOwnChange
	}
	// Taking over an account is as good as holding its role: a signed-in
	// administrator may not set the password of, disable or enable an
	// administrator or a county-wide case account (those go through the
	// command line on the server, recorded as well).
	takesOver := u.Password != nil && by.Username != cur.Username || u.Disabled != nil && *u.Disabled != cur.Disabled
	if by.signedIn() && takesOver {
		if guarded, err := s.guarded(ctx, cur.Role, cur.Region); err != nil {
			return err
		} else if guarded {
			return daiban.Errorf(daiban.EFORBIDDEN,
				"不能在系统内重置或停用%s账号 %s：持有该账号即可查看全县申请人的完整信息或管理全部账号。请由服务器运维人员在服务器上用命令行办理（同样记入台账）", cur.Role.Label(), cur.Username)
		}
	}
	if !changesGrant {
		return nil
	}
	return s.checkGrant(ctx, by, role, region)
}

// guarded reports whether an account with role in region is one that only
// the server's operator may create, reset or disable: an administrator,
// or a case-acting role over the whole county.
func (s *Service) guarded(ctx context.Context, role policies.Role, region string) (bool, error) {
	if role == policies.RoleAdmin {
		return true, nil
	}
	if !role.IsAgent() {
		return false, nil
	}
	r, err := regions.NewStore(s.pool).Get(ctx, region)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return r.Level == regions.County, nil
}

// recordUpdate writes one ledger entry for each thing that changed. Names
// and password hashes stay out of the ledger: the entry says that they
// changed, not to what.
func (s *Service) recordUpdate(ctx context.Context, tx pgx.Tx, by Actor, was, now User, password bool) error {
	who := map[string]any{"username": now.Username}
	type entry struct {
		typ     string
		payload map[string]any
	}
	var entries []entry
	if now.Role != was.Role {
		entries = append(entries, entry{"user.role", map[string]any{"username": now.Username, "from": was.Role, "to": now.Role}})
	}
	if now.Region != was.Region {
		entries = append(entries, entry{"user.region", map[string]any{"username": now.Username, "from": was.Region, "to": now.Region}})
	}
	if now.Name != was.Name {
		entries = append(entries, entry{"user.name", who})
	}
	if now.Disabled != was.Disabled {
		typ := map[bool]string{true: "user.disabled", false: "user.enabled"}[now.Disabled]
		entries = append(entries, entry{typ, who})
	}
	if password {
		entries = append(entries, entry{"user.password_reset", who})
	}
	for _, e := range entries {
		if err := s.record(ctx, tx, by.Username, now.Region, e.typ, e.payload); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) canRecord(by Actor) error {
	if by.Username == "" {
		return errNoActor
	}
	if s.record == nil {
		return errNoLedger
	}
	return nil
}

// checkGrant checks that role may be held in region, and that by may
// grant it there.
func (s *Service) checkGrant(ctx context.Context, by Actor, role policies.Role, region string) error {
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
	if by.signedIn() && role == policies.RoleAdmin {
		return daiban.Errorf(daiban.EFORBIDDEN, "不能在系统内授予管理员角色：请由服务器运维人员在服务器上用命令行办理（同样记入台账）")
	}
	if by.signedIn() && role.IsAgent() && r.Level == regions.County {
		return daiban.Errorf(daiban.EFORBIDDEN,
			"不能在系统内给县级账号授予办件角色（%s）：该角色可查看全县申请人的完整身份证号码。请由服务器运维人员在服务器上用命令行办理（同样记入台账）", role.Label())
	}
	return nil
}

var levelName = map[string]string{regions.County: "县", regions.Township: "镇街", regions.Village: "村"}
