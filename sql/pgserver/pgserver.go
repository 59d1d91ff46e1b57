// Package pgserver runs a private PostgreSQL server as a child process: the
// one "daiban serve" starts when no DATABASE_URL is set, and the one tests
// start (see package pgtest).
//
// The server listens only on a unix socket in a directory only its account
// can enter, with trust authentication for the superuser "daiban". When the
// current process is root, initdb and postgres run as the "postgres" system
// user (or "nobody"), because PostgreSQL refuses to run as root.
//
// Layout inside Options.DataDir; only these entries belong to this
// package (as root they, and nothing else, are given to the server's
// account; the directory itself stays root's, mode 0711):
//
//	pg/            the cluster (initdb)
//	run/           the socket directory (0700)
//	postgres.log   the server log (postgres.log.1 holds the previous one)
//
// The socket directory is the only access control: authentication is
// "trust", so whoever can enter run/ may connect as any role, the
// superuser included. Only the server's account (and root) can.
//
// Files by job: pgserver.go starts the server, datadir.go prepares the data
// and socket directories, lock.go clears a previous server's leftovers,
// initdb.go creates the cluster, postgres.go runs the server and waits for
// it, stop.go stops it, url.go builds connection URLs, log.go keeps the
// server log, runas.go picks the unprivileged account and find.go the
// installed binaries.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	// created if missing and made absolute. Only those three belong to
	// this package: as root, just they are given to the server account,
	// while DataDir itself stays root's (mode 0711) and its other entries
	// (e.g. the keys) are never touched.
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
	opt, err := opt.checked()
	if err != nil {
		return nil, err
	}
	bins, err := Find()
	if err != nil {
		return nil, err
	}
	ru, err := currentRunUser()
	if err != nil {
		return nil, err
	}
	dataDir, err := makeDataDir(opt.DataDir, ru, opt.Logger)
	if err != nil {
		return nil, err
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
	logStart, err := s.launch(ctx, ru, opt.Ephemeral)
	if err != nil {
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

// checked fills in the defaults and rejects what cannot work.
func (opt Options) checked() (Options, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Database == "" {
		opt.Database = "daiban"
	}
	if err := validDatabaseName(opt.Database); err != nil {
		return opt, err
	}
	if opt.DataDir == "" {
		return opt, errors.New("未指定 PostgreSQL 数据目录")
	}
	return opt, nil
}

func validDatabaseName(name string) error {
	if len(name) > 63 || strings.ContainsRune(name, 0) {
		return fmt.Errorf("无效的数据库名 %q：最长 63 字节且不能包含空字符", name)
	}
	return nil
}

// launch readies the socket directory, clears what a previous server left,
// initialises the cluster if needed and starts postgres. It returns the
// log's size before postgres started, so a failure can quote what this
// start wrote. On error no postgres process was started.
func (s *Server) launch(ctx context.Context, ru runUser, ephemeral bool) (logStart int64, err error) {
	if err := s.prepareSocketDir(ru); err != nil {
		return 0, err
	}
	if err := s.checkOwnership(ru); err != nil {
		return 0, err
	}
	if err := s.waitOldPostmaster(ctx); err != nil {
		return 0, err
	}

	rotateLog(s.logPath)
	logFile, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("无法打开 PostgreSQL 日志文件 %s：%v", s.logPath, err)
	}
	defer logFile.Close()
	if err := s.chownOwn(ru); err != nil {
		return 0, err
	}

	if err := s.initIfNeeded(ctx, ru, ephemeral, logFile); err != nil {
		return 0, err
	}

	logStart = fileSize(s.logPath)
	if err := s.startPostgres(ru, ephemeral, logFile); err != nil {
		return 0, err
	}
	return logStart, nil
}

// DataDir returns the absolute data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath returns the server log file.
func (s *Server) LogPath() string { return s.logPath }

// Done is closed when the postgres process has exited, whether by Stop or
// unexpectedly; a long-running caller can watch it.
func (s *Server) Done() <-chan struct{} { return s.done }
