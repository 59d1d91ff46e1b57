// Package pgserver runs a private PostgreSQL server as a child process: the
// one "daiban serve" starts when no DATABASE_URL is set, and the one tests
// start (see package pgtest).
//
// The server listens only on a unix socket in a directory only its account
// can enter, with trust authentication for the superuser "daiban". When the
// current process is root, initdb and postgres run as the "postgres" system
// user (or "nobody"), because PostgreSQL refuses to run as root.
//
// Layout inside Options.DataDir, which belongs to this package:
//
//	pg/            the cluster (initdb)
//	run/           the socket directory (0700)
//	postgres.log   the server log (postgres.log.1 holds the previous one)
package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// Superuser is the cluster's superuser (initdb -U).
	Superuser = "daiban"
	// port only names the socket file (.s.PGSQL.5432); nothing listens on TCP.
	port = 5432
	// maxSocketPath is the longest socket path the kernel accepts
	// (sizeof(sun_path) - 1).
	maxSocketPath = 107
	// readyTimeout bounds the wait for the server to accept connections.
	readyTimeout = 30 * time.Second
	// oldPostmasterWait bounds the wait for a previous server on the same
	// cluster to exit (e.g. one shutting down after its parent was killed).
	oldPostmasterWait = 15 * time.Second
	// logRotateSize: at start, a larger log is moved to postgres.log.1.
	logRotateSize = 16 << 20
)

// Options configure Start.
type Options struct {
	// DataDir holds the cluster, the socket directory and the log. It is
	// created if missing and made absolute. It belongs to this package:
	// when running as root its whole tree is chowned to the server account.
	DataDir string
	// Logger receives start/stop events; nil means slog.Default().
	Logger *slog.Logger
	// Database is created if missing and is what URL connects to; default "daiban".
	Database string
	// Ephemeral trades durability for speed for throwaway clusters (tests):
	// initdb --no-sync, fsync=off, synchronous_commit=off,
	// full_page_writes=off. Never set it for data that must survive a crash.
	Ephemeral bool
}

// Server is a running private PostgreSQL.
type Server struct {
	bins     Binaries
	log      *slog.Logger
	dataDir  string
	pgDir    string
	sockDir  string
	tmpSock  bool // sockDir lives under os.TempDir and is removed on Stop
	logPath  string
	database string

	cmd      *exec.Cmd
	done     chan struct{} // closed when the postgres process has exited
	waitErr  error         // the process's exit; written before done is closed
	stopping atomic.Bool

	stopOnce sync.Once
	stopErr  error
}

// Start initialises the cluster in DataDir on first use (initdb), reuses it
// afterwards, starts postgres and waits until it accepts connections, and
// makes sure the database exists. ctx bounds only the start, not the
// server's life; call Stop to end it.
func Start(ctx context.Context, opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Database == "" {
		opt.Database = "daiban"
	}
	if err := validDatabaseName(opt.Database); err != nil {
		return nil, err
	}
	if opt.DataDir == "" {
		return nil, errors.New("未指定 PostgreSQL 数据目录")
	}
	bins, err := Find()
	if err != nil {
		return nil, err
	}
	ru, err := currentRunUser()
	if err != nil {
		return nil, err
	}

	dataDir, err := filepath.Abs(opt.DataDir)
	if err != nil {
		return nil, fmt.Errorf("无效的数据目录 %s：%v", opt.DataDir, err)
	}
	// Missing parents get ordinary permissions (the server account must be
	// able to pass through them); DataDir itself is private.
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("无法创建数据目录 %s：%v", dataDir, err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("无法创建数据目录 %s：%v", dataDir, err)
	}
	realDataDir, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return nil, fmt.Errorf("无法访问数据目录 %s：%v", dataDir, err)
	}
	if ru.switchTo {
		if err := ru.checkAncestors(realDataDir); err != nil {
			return nil, err
		}
	}

	s := &Server{
		bins:     bins,
		log:      opt.Logger,
		dataDir:  dataDir,
		pgDir:    filepath.Join(dataDir, "pg"),
		sockDir:  filepath.Join(dataDir, "run"),
		logPath:  filepath.Join(dataDir, "postgres.log"),
		database: opt.Database,
		done:     make(chan struct{}),
	}
	begin := time.Now()

	started := false
	defer func() {
		if !started {
			s.removeTempSocketDir()
		}
	}()
	if err := s.prepareSocketDir(ru); err != nil {
		return nil, err
	}
	if err := s.checkOwnership(ru); err != nil {
		return nil, err
	}
	if err := s.waitOldPostmaster(ctx); err != nil {
		return nil, err
	}

	rotateLog(s.logPath)
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("无法打开 PostgreSQL 日志文件 %s：%v", s.logPath, err)
	}
	defer logFile.Close()
	if err := ru.chownTree(dataDir); err != nil {
		return nil, err
	}

	if err := s.initIfNeeded(ctx, ru, opt.Ephemeral, logFile); err != nil {
		return nil, err
	}

	logStart := fileSize(s.logPath)
	if err := s.startPostgres(ru, opt.Ephemeral, logFile); err != nil {
		return nil, err
	}
	started = true

	if err := s.waitReady(ctx, logStart); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.log.Info("内置 PostgreSQL 已启动",
		"version", bins.Version, "data_dir", dataDir, "socket_dir", s.sockDir,
		"run_as", ru.name, "pid", s.cmd.Process.Pid, "elapsed", time.Since(begin).Round(time.Millisecond))
	return s, nil
}

// URL returns the pgx connection URL for the database (unix socket,
// superuser "daiban").
func (s *Server) URL() string { return s.URLFor(s.database) }

// URLFor returns the connection URL for another database of the same server.
func (s *Server) URLFor(db string) string { return socketURL(s.sockDir, db) }

func socketURL(sockDir, db string) string {
	return "postgres://" + Superuser + "@/" + uriEscape(db, false) +
		"?host=" + uriEscape(sockDir, true) + "&port=" + strconv.Itoa(port) + "&sslmode=disable"
}

// RunningURL returns the connection URL for database db (default "daiban")
// of a server that some process, e.g. another "daiban serve", runs on
// dataDir and that has reported itself ready; ok is false otherwise. It
// reads the server's postmaster.pid, which names the socket directory
// (that may be a temporary one, see Start). Callers should still expect the
// connection to fail: the server may be stopping.
func RunningURL(dataDir, db string) (url string, ok bool) {
	if db == "" {
		db = "daiban"
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false
	}
	pgDir := filepath.Join(dataDir, "pg")
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return "", false
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address,
	// shared memory key, status.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" || strings.TrimSpace(lines[4]) == "" {
		return "", false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return "", false
	}
	if realPgDir, err := filepath.EvalSymlinks(pgDir); err != nil || postmasterState(pid, realPgDir) == stateGone {
		return "", false
	}
	return socketURL(strings.TrimSpace(lines[4]), db), true
}

// uriEscape percent-encodes every byte outside the unreserved set (and '/'
// when keepSlash). Connection URIs are decoded the libpq way, where '+' is
// not a space, so url.QueryEscape would be wrong.
func uriEscape(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// DataDir returns the absolute data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath returns the server log file.
func (s *Server) LogPath() string { return s.logPath }

// Done is closed when the postgres process has exited, whether by Stop or
// unexpectedly; a long-running caller can watch it.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, a checkpoint is written) and waits for it to exit. It escalates to
// immediate shutdown and finally SIGKILL if the server does not exit in
// time. It is safe to call more than once; later calls return the first
// result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	s.stopping.Store(true)
	defer s.removeTempSocketDir()

	select {
	case <-s.done:
		if s.waitErr != nil {
			return fmt.Errorf("PostgreSQL 在停止前已意外退出：%v（详见日志 %s）", s.waitErr, s.logPath)
		}
		return nil
	default:
	}

	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, 60 * time.Second},  // fast shutdown
		{syscall.SIGQUIT, 10 * time.Second}, // immediate shutdown
		{syscall.SIGKILL, 0},                // wait forever
	}
	for i, st := range steps {
		if err := s.cmd.Process.Signal(st.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.log.Warn("无法向 PostgreSQL 发送信号", "signal", st.sig, "err", err)
		}
		var timeout <-chan time.Time
		if st.wait > 0 {
			t := time.NewTimer(st.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-s.done:
			if i == 0 && s.waitErr == nil {
				s.log.Info("内置 PostgreSQL 已停止", "data_dir", s.dataDir)
				return nil
			}
			return fmt.Errorf("PostgreSQL 未能正常停止：%v（详见日志 %s）", s.waitErr, s.logPath)
		case <-timeout:
			s.log.Warn("PostgreSQL 未在限定时间内停止，升级停止方式", "signal", st.sig, "waited", st.wait)
		}
	}
	return nil // unreachable: the last step waits forever
}

func (s *Server) removeTempSocketDir() {
	if s.tmpSock {
		_ = os.RemoveAll(s.sockDir)
	}
}

// prepareSocketDir uses DataDir/run unless the socket path would be too
// long for the kernel, or holds a comma (connection strings cannot express
// it: a host list is split on commas); then it makes a private directory
// under os.TempDir.
func (s *Server) prepareSocketDir(ru runUser) error {
	const sockName = "/.s.PGSQL.5432"
	if len(s.sockDir)+len(sockName) > maxSocketPath || strings.Contains(s.sockDir, ",") {
		dir, err := os.MkdirTemp("", "daiban-pg-")
		if err != nil {
			return fmt.Errorf("无法创建 PostgreSQL 套接字目录：%v", err)
		}
		s.sockDir, s.tmpSock = dir, true
		if len(dir)+len(sockName) > maxSocketPath || strings.Contains(dir, ",") {
			return fmt.Errorf("PostgreSQL 套接字路径过长（%s）：请使用更短的数据目录或临时目录（TMPDIR）", dir+sockName)
		}
		if ru.switchTo {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				return fmt.Errorf("无法访问套接字目录 %s：%v", dir, err)
			}
			if err := ru.checkAncestors(real); err != nil {
				return err
			}
		}
	} else if err := os.MkdirAll(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("无法创建 PostgreSQL 套接字目录 %s：%v", s.sockDir, err)
	}
	// The directory is the only access control (trust authentication).
	if err := os.Chmod(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("无法设置套接字目录 %s 的权限：%v", s.sockDir, err)
	}
	if s.tmpSock {
		return ru.chownTree(s.sockDir)
	}
	return nil // DataDir/run is chowned with the rest of DataDir
}

// checkOwnership: without root we cannot fix ownership, so give a clear
// error instead of postgres's "data directory has wrong ownership".
func (s *Server) checkOwnership(ru runUser) error {
	if ru.switchTo {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(s.pgDir, &st); err != nil {
		return nil // not initialised yet
	}
	if st.Uid != ru.uid {
		return fmt.Errorf("PostgreSQL 数据目录 %s 属于另一个用户（uid %d），当前用户 %s 无法使用：请以该用户运行，或更换数据目录", s.pgDir, st.Uid, ru.name)
	}
	return nil
}

// waitOldPostmaster looks at a postmaster.pid left in the cluster. If the
// process is gone, or the pid now belongs to an unrelated process, the
// stale lock files are removed so postgres can start. If a postmaster is
// still running on this cluster, it waits a little for it to exit (it may
// be shutting down after its parent was killed) and otherwise fails.
func (s *Server) waitOldPostmaster(ctx context.Context) error {
	pidFile := filepath.Join(s.pgDir, "postmaster.pid")
	realPgDir, err := filepath.EvalSymlinks(s.pgDir)
	if err != nil {
		return nil // no cluster yet
	}
	deadline := time.Now().Add(oldPostmasterWait)
	logged := false
	for {
		pid, err := readPidFile(pidFile)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		state := stateUnknown
		if err == nil {
			state = postmasterState(pid, realPgDir)
		} else {
			state = stateGone // empty or garbled: not a live server's lock file
		}
		if state == stateUnknown {
			break // cannot tell; postgres's own interlocks decide
		}
		if state == stateGone {
			if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("无法删除残留的 PostgreSQL 锁文件 %s：%v", pidFile, err)
			}
			s.log.Info("已清理上次运行残留的 PostgreSQL 锁文件", "file", pidFile, "old_pid", pid)
			break
		}
		if !logged {
			s.log.Info("等待之前的 PostgreSQL 进程退出", "pid", pid, "data_dir", s.pgDir)
			logged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("数据目录 %s 正被另一个正在运行的 PostgreSQL 进程（PID %d）使用：请先停止它（或停止使用同一数据目录的另一个 daiban）", s.pgDir, pid)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("数据目录 %s 正被另一个正在运行的 PostgreSQL 进程（PID %d）使用：%w", s.pgDir, pid, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// No postmaster runs on this cluster now, so socket lock files in our
	// private socket directory are stale (a reused pid would keep postgres
	// from starting).
	if !s.tmpSock {
		for _, name := range []string{".s.PGSQL.5432", ".s.PGSQL.5432.lock"} {
			_ = os.Remove(filepath.Join(s.sockDir, name))
		}
	}
	return nil
}

type pmState int

const (
	stateUnknown pmState = iota
	stateGone
	stateRunning
)

// postmasterState tells whether pid is a live process whose working
// directory is the cluster (a postmaster chdirs into its data directory).
func postmasterState(pid int, realPgDir string) pmState {
	if pid <= 0 {
		return stateGone
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return stateGone
	}
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		return stateUnknown // no procfs
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	switch {
	case err == nil && cwd == realPgDir:
		return stateRunning
	case err == nil:
		return stateGone // pid reused by an unrelated process
	case errors.Is(err, fs.ErrNotExist):
		return stateGone // exited, or a zombie
	default:
		return stateUnknown // e.g. another user's process
	}
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("bad pid file %s: %w", path, err)
	}
	return pid, nil
}

// initIfNeeded runs initdb unless the cluster exists. initdb writes into a
// side directory that is renamed into place only on success, so an
// interrupted first start never leaves a half-initialised cluster.
func (s *Server) initIfNeeded(ctx context.Context, ru runUser, ephemeral bool, logFile *os.File) error {
	if b, err := os.ReadFile(filepath.Join(s.pgDir, "PG_VERSION")); err == nil {
		have, want := strings.TrimSpace(string(b)), majorVersion(s.bins.Version)
		if have != want {
			return fmt.Errorf("数据目录 %s 由 PostgreSQL %s 创建，但当前安装的是 PostgreSQL %s（%s）：请安装 PostgreSQL %s，或用 pg_upgrade 升级数据目录", s.pgDir, have, s.bins.Version, s.bins.Postgres, have)
		}
		return nil
	}
	if _, err := os.Stat(s.pgDir); err == nil {
		return fmt.Errorf("数据目录 %s 已存在但不是 PostgreSQL 数据库集群（缺少 PG_VERSION）：请检查或删除该目录", s.pgDir)
	}

	tmp := s.pgDir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("无法清理 %s：%v", tmp, err)
	}
	args := []string{"-D", tmp, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--locale=C"}
	if majorAtLeast(s.bins.Version, 14) {
		args = append(args, "--no-instructions")
	}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	s.log.Info("正在初始化内置 PostgreSQL 数据目录", "data_dir", s.pgDir, "version", s.bins.Version, "run_as", ru.name)
	cmd := exec.CommandContext(ctx, s.bins.InitDB, args...)
	cmd.Dir = s.dataDir
	cmd.Env = childEnv()
	cmd.SysProcAttr = procAttr(ru.credential(), syscall.SIGKILL)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, logFile)
	cmd.Stderr = cmd.Stdout
	if err := runLocked(cmd); err != nil {
		_ = os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return fmt.Errorf("初始化 PostgreSQL 数据目录被中断：%w", ctx.Err())
		}
		return fmt.Errorf("初始化 PostgreSQL 数据目录失败（initdb：%v）：%s", err, lastLines(out.String(), 3))
	}
	if err := os.Rename(tmp, s.pgDir); err != nil {
		return fmt.Errorf("无法启用新建的数据目录 %s：%v", s.pgDir, err)
	}
	return nil
}

// runLocked runs cmd from a goroutine locked to its OS thread, so that
// thread, whose exit would trigger the child's parent-death signal, lives
// as long as the child.
func runLocked(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		errc <- cmd.Run()
	}()
	return <-errc
}

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

func validDatabaseName(name string) error {
	if len(name) > 63 || strings.ContainsRune(name, 0) {
		return fmt.Errorf("无效的数据库名 %q：最长 63 字节且不能包含空字符", name)
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

func rotateLog(path string) {
	if fileSize(path) > logRotateSize {
		_ = os.Rename(path, path+".1")
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logTail returns the last n non-empty lines written to the log after
// offset from, joined into one line.
func logTail(path string, from int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 8 << 10
	if size := fileSize(path); size-from > maxRead {
		from = size - maxRead
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxRead))
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
