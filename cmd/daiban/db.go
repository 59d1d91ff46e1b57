package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/pgserver"
	"github.com/daiban/daiban/sql/migrations"
)

// database is an open pool and, on the embedded default, the server to stop.
type database struct {
	Pool   *pgxpool.Pool
	server *pgserver.Server
}

// openDatabase connects to DATABASE_URL or, without it, to the embedded
// PostgreSQL in DAIBAN_DATA: the one a running "daiban serve" already
// started, else a new one started here. Migrations run before it returns.
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger) (*database, error) {
	db := &database{}
	dsn := cfg.DatabaseURL
	if dsn == "" {
		if pool, ok := attachRunning(ctx, cfg.DataDir); ok {
			db.Pool = pool
		} else {
			if _, err := pgserver.Find(); err != nil {
				return nil, err
			}
			srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: cfg.DataDir, Logger: logger})
			if err != nil {
				return nil, err
			}
			db.server = srv
			dsn = srv.URL()
			logger.Info("embedded postgresql started", "data", cfg.DataDir)
		}
	}
	if db.Pool == nil {
		pcfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("DATABASE_URL 格式错误: %w", err)
		}
		if pcfg.MaxConns < 16 {
			pcfg.MaxConns = 16
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			db.Close()
			return nil, err
		}
		db.Pool = pool
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Pool.Ping(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("无法连接数据库: %w", err)
	}
	if err := migrations.Up(ctx, db.Pool, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// attachRunning connects to an embedded server another daiban process runs
// on the same data directory, so "daiban user add" works beside "serve".
func attachRunning(ctx context.Context, dataDir string) (*pgxpool.Pool, bool) {
	sock := filepath.Join(dataDir, "run")
	dsn := fmt.Sprintf("postgres:///daiban?host=%s&user=%s", url.QueryEscape(sock), pgserver.Superuser)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, false
	}
	pingCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, false
	}
	return pool, true
}

// Close closes the pool and stops the embedded server, if it started one.
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
