package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver"
)

// database is the server's pool and, on the embedded default, the
// PostgreSQL this process started and must stop.
type database struct {
	Pool   *pgxpool.Pool
	URL    string
	server *pgserver.Server
}

// openDatabase connects to DATABASE_URL or, without it, to the embedded
// PostgreSQL in DAIBAN_DATA: the one a running "daiban serve" already
// started, else a new one started here. Migrations run (as the database
// owner) before it returns; the returned pool works as the app role (see
// appLogin for who it logs in as).
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger) (*database, error) {
	db := &database{URL: cfg.DatabaseURL}
	if db.URL == "" {
		if dsn, ok := runningEmbedded(ctx, cfg.DataDir); ok {
			db.URL = dsn
		} else {
			if _, err := pgserver.Find(); err != nil {
				return nil, err
			}
			srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: cfg.DataDir, Logger: logger})
			if err != nil {
				return nil, err
			}
			db.server, db.URL = srv, srv.URL()
		}
	}
	if err := migrate(ctx, db.URL, logger); err != nil {
		db.Close()
		return nil, err
	}
	appURL, login := appLogin(cfg, db.URL)
	poolCfg, err := migrations.AppPoolConfig(appURL, login, 32)
	if err != nil {
		db.Close()
		return nil, err
	}
	if db.Pool, err = migrations.NewAppPool(ctx, poolCfg, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// appLogin says where and as whom the server's pool connects: through
// DAIBAN_APP_DATABASE_URL when set; on the embedded server as daiban_app
// itself (its socket is reachable only by its own account and root); else
// as DATABASE_URL's owner switched to daiban_app, which NewAppPool warns
// about when that owner is a superuser.
func appLogin(cfg config, ownerURL string) (string, migrations.Login) {
	switch {
	case cfg.AppDatabaseURL != "":
		return cfg.AppDatabaseURL, migrations.LoginAsGiven
	case cfg.DatabaseURL == "":
		return ownerURL, migrations.LoginAsApp
	default:
		return ownerURL, migrations.LoginAsGiven
	}
}

func migrate(ctx context.Context, dsn string, logger *slog.Logger) error {
	owner, err := migrations.OpenOwnerPool(ctx, dsn)
	if err != nil {
		return err
	}
	defer owner.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := owner.Ping(pingCtx); err != nil {
		return fmt.Errorf("无法连接数据库: %w", err)
	}
	return migrations.Up(ctx, owner, logger)
}

// runningEmbedded finds an embedded server that another daiban process runs
// on the same data directory, so "daiban user add" works beside "serve".
func runningEmbedded(ctx context.Context, dataDir string) (string, bool) {
	dsn, ok := pgserver.RunningURL(dataDir, "")
	if !ok {
		return "", false
	}
	pool, err := migrations.OpenOwnerPool(ctx, dsn)
	if err != nil {
		return "", false
	}
	defer pool.Close()
	pingCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return dsn, pool.Ping(pingCtx) == nil
}

// Close closes the pool and stops the embedded server, if this process
// started it.
func (db *database) Close() {
	if db.Pool != nil {
		db.Pool.Close()
	}
	if db.server != nil {
		if err := db.server.Stop(); err != nil {
			slog.Default().Error("stopping embedded postgresql", "err", err.Error())
		}
	}
}
