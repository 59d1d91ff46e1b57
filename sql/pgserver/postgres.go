package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func (s *Server) serverArgs(ephemeral bool) []string {
	settings := []string{
		"listen_addresses=", // no TCP at all
		"port=" + strconv.Itoa(port),
		"unix_socket_directories=" + quoteListItem(s.sockDir),
		"unix_socket_permissions=0700",
		"shared_buffers=128MB",
		"max_connections=200",
		"logging_collector=off", // stderr is our log file
		"log_destination=stderr",
		"cluster_name=daiban",
	}
	if ephemeral {
		settings = append(settings, "fsync=off", "synchronous_commit=off", "full_page_writes=off")
	} else {
		// Command-line settings win over postgresql.conf and ALTER SYSTEM.
		settings = append(settings, "fsync=on")
	}
	args := []string{"-D", s.pgDir}
	for _, kv := range settings {
		args = append(args, "-c", kv)
	}
	return args
}

// startPostgres starts the postmaster from a goroutine that stays locked
// to its OS thread until the process exits (see procAttr).
func (s *Server) startPostgres(ru runUser, ephemeral bool, logFile *os.File) error {
	cmd := exec.Command(s.bins.Postgres, s.serverArgs(ephemeral)...)
	cmd.Dir = s.dataDir
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// SIGINT is fast shutdown: a killed parent leaves a cleanly shut down cluster.
	cmd.SysProcAttr = procAttr(ru.credential(), syscall.SIGINT)
	s.cmd = cmd

	startErr := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			startErr <- err
			return
		}
		startErr <- nil
		s.waitErr = cmd.Wait()
		close(s.done)
		if !s.stopping.Load() {
			s.log.Error("内置 PostgreSQL 意外退出", "err", s.waitErr, "log", s.logPath)
		}
	}()
	if err := <-startErr; err != nil {
		return fmt.Errorf("无法启动 PostgreSQL（%s）：%v", s.bins.Postgres, err)
	}
	return nil
}

// waitReady connects (with backoff) until the server accepts connections,
// then creates the database if missing.
func (s *Server) waitReady(ctx context.Context, logStart int64) error {
	deadline := time.Now().Add(readyTimeout)
	delay := 5 * time.Millisecond
	var conn *pgx.Conn
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := pgx.Connect(cctx, s.URLFor("postgres"))
		cancel()
		if err == nil {
			conn = c
			break
		}
		select {
		case <-s.done:
			return fmt.Errorf("PostgreSQL 启动失败（%v）：%s（详见日志 %s）", s.waitErr, logTail(s.logPath, logStart, 3), s.logPath)
		case <-ctx.Done():
			return fmt.Errorf("等待 PostgreSQL 启动时被取消：%w", ctx.Err())
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL 在 %s 内未能就绪：%v（详见日志 %s）", readyTimeout, err, s.logPath)
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
	defer conn.Close(context.Background())

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", s.database).Scan(&exists); err != nil {
		return fmt.Errorf("无法查询数据库列表：%v", err)
	}
	if !exists {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.database}.Sanitize())
		var pgErr *pgconn.PgError
		if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database
			return fmt.Errorf("无法创建数据库 %s：%v", s.database, err)
		}
		s.log.Info("已创建数据库", "database", s.database)
	}
	return nil
}

// childEnv is our environment without variables that would steer the
// server programs (PG*) or make them depend on installed locales.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// quoteListItem makes s one element of a list-valued setting such as
// unix_socket_directories: quoted (embedded quotes doubled) when it holds
// characters the list syntax would split on or trim.
func quoteListItem(s string) string {
	if !strings.ContainsAny(s, ",\" \t\r\n\v\f") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
