// Package pgtest gives tests in any package a private PostgreSQL: one
// server per test binary, started lazily, and cheap fresh databases
// (optionally copied from a prepared template).
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t, pgtest.Template(t, "migrated", migrate))
//		...
//	}
//
// The server is ephemeral (no fsync) and its data directory, a fresh
// os.MkdirTemp, is removed when the test binary ends. Directories left by
// test binaries that were killed are removed by later runs.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/sql/pgserver"
)

const (
	dirPrefix = "daiban-pgtest-"
	lockName  = "pgtest.lock"
	// startTimeout bounds initdb + start (initdb alone takes a few seconds
	// on a busy machine).
	startTimeout = 2 * time.Minute
)

var (
	mainCalled atomic.Bool

	mu       sync.Mutex
	srv      *pgserver.Server
	srvErr   error // a failed start is remembered: every test fails with it
	dataDir  string
	lockFile *os.File

	dbSeq atomic.Int64

	tmplMu sync.Mutex
	tmpls  = map[string]*template{}
)

type template struct {
	done chan struct{} // closed when err is final
	err  error
}

// Main runs m with one shared private server for the whole test binary
// (started lazily on first use), stops it after m.Run, and exits with
// m.Run's code. Packages call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	mu.Lock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		srv = nil
	}
	if dataDir != "" {
		if err := os.RemoveAll(dataDir); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		dataDir = ""
	}
	if lockFile != nil {
		lockFile.Close()
	}
	mu.Unlock()
	os.Exit(code)
}

// Server returns the shared server (starting it if needed); tb.Fatal on
// failure.
func Server(tb testing.TB) *pgserver.Server {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("pgtest: 需要在 TestMain 中调用 pgtest.Main(m)，测试结束后才能停止并清理 PostgreSQL")
	}
	mu.Lock()
	defer mu.Unlock()
	if srv == nil && srvErr == nil {
		srv, srvErr = start()
	}
	if srvErr != nil {
		tb.Fatal(srvErr)
	}
	return srv
}

func start() (*pgserver.Server, error) {
	removeStaleDirs()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: 无法创建临时目录：%v", err)
	}
	// The lock tells later runs that this directory is in use; it is
	// released by the kernel however this process ends.
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err == nil {
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		if lf != nil {
			lf.Close()
		}
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: 无法锁定临时目录 %s：%v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := pgserver.Start(ctx, pgserver.Options{
		DataDir:  dir,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Database: "pgtest",
		// Benchmarks set PGTEST_DURABLE=1 to measure on a server that
		// syncs its commits, as production does.
		Ephemeral: os.Getenv("PGTEST_DURABLE") == "",
	})
	if err != nil {
		lf.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	dataDir, lockFile = dir, lf
	return s, nil
}

// removeStaleDirs deletes data directories of earlier test binaries that
// ended without cleaning up (killed, timed out): their lock is free and no
// server runs on them any more.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		st, err := os.Stat(dir)
		// A young directory may be one another binary is just setting up.
		if err != nil || !st.IsDir() || time.Since(st.ModTime()) < 2*time.Minute {
			continue
		}
		lf, err := os.Open(filepath.Join(dir, lockName))
		if err != nil {
			continue
		}
		locked := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
		if locked && !serverRunning(filepath.Join(dir, "pg")) {
			_ = os.RemoveAll(dir)
		}
		lf.Close()
	}
}

// serverRunning reports whether postmaster.pid in pgDir names a live
// process (err on the side of "running").
func serverRunning(pgDir string) bool {
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		return false
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// NewDatabase creates a fresh database (unique name), optionally as a copy
// of template (""=none), and returns its URL; the database is dropped at
// tb.Cleanup (connections still open then are terminated).
func NewDatabase(tb testing.TB, template string) string {
	tb.Helper()
	s := Server(tb)
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), sanitize(tb.Name()))
	if len(name) > 63 {
		name = name[:63]
	}
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		stmt += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if err := admin(context.Background(), s, stmt); err != nil {
		tb.Fatalf("pgtest: 无法创建数据库 %s：%v", name, err)
	}
	tb.Cleanup(func() {
		if err := admin(context.Background(), s, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: 无法删除数据库 %s：%v", name, err)
		}
	})
	return s.URLFor(name)
}

// Template makes (once per test binary, concurrency-safe) a database named
// name prepared by fn (e.g. migrations) to be used as a template by
// NewDatabase, and returns name. fn gets the database's URL and must close
// its connections; any still open when fn returns are terminated. The
// finished template accepts no connections, so copying it never fails for
// "being accessed by other users". A failure of fn fails every caller.
func Template(tb testing.TB, name string, fn func(ctx context.Context, url string) error) string {
	tb.Helper()
	s := Server(tb)

	tmplMu.Lock()
	t, ok := tmpls[name]
	if !ok {
		t = &template{done: make(chan struct{})}
		tmpls[name] = t
	}
	tmplMu.Unlock()

	if !ok {
		func() {
			t.err = fmt.Errorf("pgtest: 模板 %s 的准备函数没有正常返回（panic 或 runtime.Goexit）", name)
			defer close(t.done)
			t.err = buildTemplate(tb.Context(), s, name, fn)
		}()
	}
	<-t.done
	if t.err != nil {
		tb.Fatal(t.err)
	}
	return name
}

func buildTemplate(ctx context.Context, s *pgserver.Server, name string, fn func(context.Context, string) error) error {
	if len(name) == 0 || len(name) > 63 {
		return fmt.Errorf("pgtest: 无效的模板名 %q", name)
	}
	id := pgx.Identifier{name}.Sanitize()
	if err := admin(ctx, s, "CREATE DATABASE "+id); err != nil {
		return fmt.Errorf("pgtest: 无法创建模板数据库 %s：%v", name, err)
	}
	if err := fn(ctx, s.URLFor(name)); err != nil {
		return fmt.Errorf("pgtest: 准备模板 %s 失败：%w", name, err)
	}
	// Forbid new connections, then end the ones fn left open.
	if err := admin(ctx, s, "ALTER DATABASE "+id+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("pgtest: 无法把 %s 设为模板：%v", name, err)
	}
	conn, err := pgx.Connect(ctx, s.URLFor("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: 无法连接 PostgreSQL：%v", err)
	}
	defer conn.Close(context.Background())
	for i := 0; ; i++ {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&n)
		if err != nil {
			return fmt.Errorf("pgtest: 无法断开模板 %s 的连接：%v", name, err)
		}
		if n == 0 {
			return nil
		}
		if i == 100 {
			return fmt.Errorf("pgtest: 模板 %s 仍有 %d 个连接无法断开", name, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// admin runs one statement on the maintenance database.
func admin(ctx context.Context, s *pgserver.Server, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URLFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// sanitize turns a test name into something readable inside a database
// name: lower-case letters, digits and underscores.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
