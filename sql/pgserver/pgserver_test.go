package pgserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/sql/pgserver"
)

// Helper modes: the test binary re-executes itself to play a parent that
// gets SIGKILLed, or an unrelated long-lived process.
const (
	helperEnv    = "PGSERVER_TEST_HELPER"
	helperDirEnv = "PGSERVER_TEST_DIR"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		helperServe(os.Getenv(helperDirEnv))
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	}
	os.Exit(3)
}

// helperServe starts a server, stores a row, reports readiness and waits to
// be killed.
func helperServe(dir string) {
	ctx := context.Background()
	s, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	conn, err := pgx.Connect(ctx, s.URL())
	if err == nil {
		_, err = conn.Exec(ctx, "CREATE TABLE survivor (v text); INSERT INTO survivor VALUES ('kept')")
		conn.Close(ctx)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	time.Sleep(time.Hour)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// dataDir returns a fresh directory for a cluster. Not t.TempDir(): when the
// tests run as root the server runs as another user, which cannot enter
// t.TempDir()'s 0700 parent.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, opt pgserver.Options) *pgserver.Server {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(&testWriter{t}, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestStartStopRestart(t *testing.T) {
	dir := dataDir(t)
	ctx := context.Background()

	s := start(t, pgserver.Options{DataDir: dir})
	conn := connect(t, s.URL())
	if db := queryString(t, conn, "SELECT current_database()"); db != "daiban" {
		t.Errorf("current_database() = %q, want daiban", db)
	}
	// Trust only on the private socket; TCP (never listened on) is refused.
	if n := queryString(t, conn, "SELECT count(*)::text FROM pg_hba_file_rules WHERE type <> 'local' AND auth_method <> 'reject'"); n != "0" {
		t.Errorf("%s pg_hba rules other than local that do not reject", n)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE notes (id int PRIMARY KEY, body text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES (1, '你好')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid still there after Stop: %v", err)
	}

	begin := time.Now()
	s2 := start(t, pgserver.Options{DataDir: dir})
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("second start took %s, want < 2s", d)
	} else {
		t.Logf("second start took %s", d)
	}
	conn = connect(t, s2.URL())
	if body := queryString(t, conn, "SELECT body FROM notes WHERE id = 1"); body != "你好" {
		t.Errorf("row after restart = %q", body)
	}
	if v := queryString(t, conn, "SHOW listen_addresses"); v != "" {
		t.Errorf("listen_addresses = %q, want empty (no TCP)", v)
	}
	if v := queryString(t, conn, "SHOW fsync"); v != "on" {
		t.Errorf("fsync = %q, want on", v)
	}
	if v := queryString(t, conn, "SHOW unix_socket_permissions"); v != "0700" {
		t.Errorf("unix_socket_permissions = %q, want 0700", v)
	}
	if v := queryString(t, conn, "SELECT coalesce(inet_server_addr()::text, 'unix')"); v != "unix" {
		t.Errorf("connected over %q, want the unix socket", v)
	}
	if v := queryString(t, conn, "SHOW server_encoding"); v != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", v)
	}

	// The socket directory is DataDir/run and private.
	sockDir := filepath.Join(dir, "run")
	if v := queryString(t, conn, "SHOW unix_socket_directories"); v != sockDir {
		t.Errorf("unix_socket_directories = %q, want %q", v, sockDir)
	}
	if !strings.Contains(s2.URL(), "host="+sockDir+"&") {
		t.Errorf("URL %s does not use socket dir %s", s2.URL(), sockDir)
	}
	if u, ok := pgserver.RunningURL(dir, ""); !ok || u != s2.URL() {
		t.Errorf("RunningURL = %q, %v; want %q", u, ok, s2.URL())
	}
	st, err := os.Stat(sockDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("socket dir mode = %o, want 700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres.log")); err != nil {
		t.Errorf("server log: %v", err)
	}
	if os.Geteuid() == 0 {
		// The server runs unprivileged.
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(dir, "pg"), &st); err != nil || st.Uid == 0 {
			t.Errorf("cluster owned by uid %d (err %v), want an unprivileged user", st.Uid, err)
		}
	}
	conn.Close(ctx)

	if err := s2.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := s2.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if u, ok := pgserver.RunningURL(dir, ""); ok {
		t.Errorf("RunningURL after Stop = %q", u)
	}
}

// Also a data directory whose name needs quoting in unix_socket_directories.
func TestOtherDatabaseAndURLFor(t *testing.T) {
	base := dataDir(t)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s := start(t, pgserver.Options{DataDir: filepath.Join(base, `my "data" dir+x`), Database: "Other DB/ü"})
	if db := queryString(t, connect(t, s.URL()), "SELECT current_database()"); db != "Other DB/ü" {
		t.Errorf("current_database() = %q", db)
	}
	if db := queryString(t, connect(t, s.URLFor("postgres")), "SELECT current_database()"); db != "postgres" {
		t.Errorf("URLFor(postgres) connects to %q", db)
	}
}

// A socket path too long for the kernel, or one a connection string cannot
// express (a comma), moves the socket to a private directory under TMPDIR.
func TestTempSocketDir(t *testing.T) {
	for name, sub := range map[string]string{
		"long":  filepath.Join(strings.Repeat("d", 60), strings.Repeat("e", 60)),
		"comma": "a,b",
	} {
		t.Run(name, func(t *testing.T) {
			base := dataDir(t)
			// The parent of DataDir must be passable by the server account.
			if err := os.Chmod(base, 0o755); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(base, sub)
			s := start(t, pgserver.Options{DataDir: dir})
			conn := connect(t, s.URL())
			sockDir := queryString(t, conn, "SHOW unix_socket_directories")
			if strings.HasPrefix(sockDir, dir) || !strings.HasPrefix(sockDir, os.TempDir()) {
				t.Fatalf("socket dir %q: want a short directory under %s", sockDir, os.TempDir())
			}
			if st, err := os.Stat(sockDir); err != nil || st.Mode().Perm() != 0o700 {
				t.Fatalf("socket dir %s: %v %v", sockDir, st, err)
			}
			if u, ok := pgserver.RunningURL(dir, "postgres"); !ok || u != s.URLFor("postgres") {
				t.Errorf("RunningURL = %q, %v; want %q", u, ok, s.URLFor("postgres"))
			}
			conn.Close(context.Background())
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(sockDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary socket dir %s not removed: %v", sockDir, err)
			}
		})
	}
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	dir := dataDir(t)
	s := start(t, pgserver.Options{DataDir: dir})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s2, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Logger: quietLogger()})
	if err == nil {
		s2.Stop()
		t.Fatal("second server on the same data dir started")
	}
	if !strings.Contains(err.Error(), "正在运行的 PostgreSQL") {
		t.Errorf("unexpected error: %v", err)
	}
	// The first one is unharmed.
	if v := queryString(t, connect(t, s.URL()), "SELECT 'ok'"); v != "ok" {
		t.Error(v)
	}
}

// startHelper runs the test binary in a helper mode and waits for "ready".
func startHelper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %s: %q %v", mode, line, err)
	}
	return cmd
}

// processGone reports whether pid has exited (a zombie counts as exited).
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// Format: pid (comm) state ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// A SIGKILLed parent must not leave its server behind, and the cluster
// must start again with the committed data.
func TestKilledParentLeavesNoServer(t *testing.T) {
	dir := dataDir(t)
	helper := startHelper(t, "serve", dir)
	pid := readPid(t, filepath.Join(dir, "pg", "postmaster.pid"))
	if processGone(pid) {
		t.Fatalf("postmaster %d not running", pid)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postmaster %d still running 30s after its parent was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}

	s := start(t, pgserver.Options{DataDir: dir})
	if v := queryString(t, connect(t, s.URL()), "SELECT v FROM survivor"); v != "kept" {
		t.Errorf("row after parent was killed = %q", v)
	}
}

// A postmaster.pid whose pid now belongs to an unrelated live process (pid
// reuse after a crash) must not keep the server from starting.
func TestStaleLockFileWithReusedPid(t *testing.T) {
	dir := dataDir(t)
	s := start(t, pgserver.Options{DataDir: dir})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	other := startHelper(t, "sleep", dir)
	content := fmt.Sprintf("%d\n%s\n0\n5432\n\n\n0 0\nready\n", other.Process.Pid, filepath.Join(dir, "pg"))
	for _, f := range []string{filepath.Join(dir, "pg", "postmaster.pid"), filepath.Join(dir, "run", ".s.PGSQL.5432.lock")} {
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = start(t, pgserver.Options{DataDir: dir})
	if v := queryString(t, connect(t, s.URL()), "SELECT 'ok'"); v != "ok" {
		t.Error(v)
	}
}

// A postmaster killed outright leaves a stale postmaster.pid; the next
// start recovers.
func TestRestartAfterServerCrash(t *testing.T) {
	dir := dataDir(t)
	s := start(t, pgserver.Options{DataDir: dir})
	conn := connect(t, s.URL())
	if _, err := conn.Exec(context.Background(), "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	pid := readPid(t, filepath.Join(dir, "pg", "postmaster.pid"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	if err := s.Stop(); err == nil {
		t.Error("Stop after a crash reported no error")
	}

	s = start(t, pgserver.Options{DataDir: dir})
	if v := queryString(t, connect(t, s.URL()), "SELECT v::text FROM t"); v != "42" {
		t.Errorf("row after crash = %q", v)
	}
}

// As root, an ancestor the server account cannot pass through is reported
// by name (never silently chmodded).
func TestUnreachableDataDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root switches to another account")
	}
	base := dataDir(t) // 0700, owned by root
	_, err := pgserver.Start(context.Background(), pgserver.Options{DataDir: filepath.Join(base, "data"), Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), base) || !strings.Contains(err.Error(), "无法进入目录") {
		t.Fatalf("Start: %v, want an error naming %s", err, base)
	}
	if st, err := os.Stat(base); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("%s changed: %v %v", base, st.Mode(), err)
	}
}

func TestFindNotFound(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	old := *pgserver.DebianRoot
	*pgserver.DebianRoot = empty
	t.Cleanup(func() { *pgserver.DebianRoot = old })

	_, err := pgserver.Find()
	if !errors.Is(err, pgserver.ErrNotFound) {
		t.Fatalf("Find: %v, want ErrNotFound", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install postgresql") || !strings.Contains(msg, "DATABASE_URL") {
		t.Errorf("unclear message: %q", msg)
	}
	if _, err := pgserver.Start(context.Background(), pgserver.Options{DataDir: dataDir(t)}); !errors.Is(err, pgserver.ErrNotFound) {
		t.Errorf("Start: %v, want ErrNotFound", err)
	}
}

func TestFind(t *testing.T) {
	b, err := pgserver.Find()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(b.InitDB) || !filepath.IsAbs(b.Postgres) || b.Version == "" {
		t.Errorf("Find = %+v", b)
	}
	t.Logf("%+v", b)
}

// As root the server's account gets the cluster, the socket directory and
// the log, and nothing else of the data directory: a sibling (DAIBAN_KEYS's
// default home) stays root's and the database cannot read it, even as its
// superuser, which runs as that account. A data directory an older version
// gave to the account is taken back.
func TestOtherEntriesStayRootsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root switches to another account")
	}
	dir := dataDir(t)
	keys := filepath.Join(dir, "keys")
	secret := filepath.Join(keys, "seal.key")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if u, err := user.Lookup("postgres"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil { // as older versions left it
			t.Fatal(err)
		}
	}
	s := start(t, pgserver.Options{DataDir: dir})

	for path, mode := range map[string]os.FileMode{dir: 0o711, keys: 0o700, secret: 0o600} {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 || st.Gid != 0 || os.FileMode(st.Mode).Perm() != mode {
			t.Errorf("%s: owner %d:%d mode %o, want 0:0 %o", path, st.Uid, st.Gid, os.FileMode(st.Mode).Perm(), mode)
		}
	}
	conn := connect(t, s.URL()) // the superuser
	for _, c := range []struct{ sql, arg string }{
		{"SELECT pg_read_file($1)", secret},
		{"SELECT pg_ls_dir($1)", keys},
		{"SELECT pg_ls_dir($1)", dir},
	} {
		var out string
		err := conn.QueryRow(context.Background(), c.sql, c.arg).Scan(&out)
		if err == nil || !strings.Contains(err.Error(), "Permission denied") {
			t.Errorf("%s on %s as the superuser: %q, %v; want permission denied", c.sql, c.arg, out, err)
		}
	}
}
