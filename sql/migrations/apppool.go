package migrations

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// AppRole is the database role the server works as. It cannot UPDATE or
// DELETE ledger rows, owns nothing and holds no attribute but LOGIN;
// migrations and the owner's commands run as the owner.
const AppRole = "daiban_app"

// Login says how the server's pool becomes AppRole.
type Login int

const (
	// LoginAsApp logs in as AppRole itself, whatever user the URL names:
	// the embedded server, whose socket only its own account and root can
	// reach (see package pgserver). "SET ROLE NONE" then leaves AppRole.
	LoginAsApp Login = iota + 1
	// LoginAsGiven logs in as the URL's user and switches to AppRole on
	// every connection: DAIBAN_APP_DATABASE_URL (a login granted AppRole),
	// or, without it, DATABASE_URL's owner — which "SET ROLE NONE" gets
	// back, hence the warning NewAppPool logs when that login is
	// privileged.
	LoginAsGiven
)

// AppPoolConfig is the server's pool configuration on dsn. Callers may
// adjust it (tests name their connections) before NewAppPool.
func AppPoolConfig(dsn string, login Login, maxConns int32) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("数据库地址格式错误: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	failFast(&cfg.ConnConfig.Config)
	switch login {
	case LoginAsApp:
		cfg.ConnConfig.User = AppRole
		cfg.ConnConfig.Password = ""
	case LoginAsGiven:
		cfg.ConnConfig.RuntimeParams["role"] = AppRole
	default:
		return nil, fmt.Errorf("migrations: unknown login %d", login)
	}
	return cfg, nil
}

// NewAppPool opens the server's pool from cfg (see AppPoolConfig) and
// checks what its login could do after "SET ROLE NONE". AppRole itself
// with such rights is refused; another login (the owner of an external
// database without DAIBAN_APP_DATABASE_URL) is logged as a warning.
func NewAppPool(ctx context.Context, cfg *pgxpool.Config, logger *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkLogin(ctx, pool, logger); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// OpenAppPool opens the server's pool on the embedded server at dsn,
// logged in as AppRole.
func OpenAppPool(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := AppPoolConfig(dsn, LoginAsApp, maxConns)
	if err != nil {
		return nil, err
	}
	return NewAppPool(ctx, cfg, nil)
}

// privilegedLogin tells whether the session's login (not the role it
// switched to) is a superuser or may read, write or run the server's
// files, and names it.
const privilegedLogin = `SELECT session_user::text, r.rolsuper
	OR pg_has_role(session_user, 'pg_read_server_files', 'MEMBER')
	OR pg_has_role(session_user, 'pg_write_server_files', 'MEMBER')
	OR pg_has_role(session_user, 'pg_execute_server_program', 'MEMBER')
	FROM pg_roles r WHERE r.rolname = session_user`

func checkLogin(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var login string
	var privileged bool
	if err := pool.QueryRow(ctx, privilegedLogin).Scan(&login, &privileged); err != nil {
		return fmt.Errorf("无法连接数据库（应用角色 %s）: %w", AppRole, err)
	}
	if !privileged {
		return nil
	}
	if login == AppRole {
		return fmt.Errorf("数据库角色 %s 拥有超级用户或读写服务器文件的权限，服务拒绝以它运行：请撤销这些权限（ALTER ROLE %s NOSUPERUSER，并撤销 pg_read_server_files 等角色）", AppRole, AppRole)
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.Warn("服务以超级用户（或可读写服务器文件的角色）登录数据库，仅切换到应用角色运行：一条 SET ROLE NONE 即可取回全部权限。请设置 DAIBAN_APP_DATABASE_URL，用一个只被授予 "+AppRole+" 的登录角色连接",
		"login", login, "app_role", AppRole)
	return nil
}
