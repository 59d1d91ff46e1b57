// Package pgcluster runs a pg_auto_failover formation on this machine —
// a monitor, a primary and a synchronous secondary, each its own
// PostgreSQL with its own data directory and loopback port — for the
// failover and restore tests and for trying the operations guide
// (docs/ops.md) on one machine. Production runs the same programs
// (Debian's postgresql-15-auto-failover) on three machines.
//
// Every program runs as the unprivileged account pgserver picks
// (PostgreSQL refuses root), with its configuration under Options.Dir
// (XDG_CONFIG_HOME and XDG_DATA_HOME point there, so nothing is written
// to the account's home). Each node is one "pg_autoctl run" process in
// its own process group with its postmaster: Kill SIGKILLs the group, the
// nearest thing on one machine to pulling a server's power cord.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/daiban/daiban/sql/pgserver"
)

// ErrNoAutoFailover is returned by Start when pg_autoctl is not installed.
var ErrNoAutoFailover = errors.New("未找到 pg_autoctl：请安装 postgresql-15-auto-failover（apt-get install postgresql-15-auto-failover）")

// Timing is how quickly the monitor gives up on a primary. Production
// keeps pg_auto_failover's defaults (Default); the tests shorten every
// step (Fast) so that a failover takes seconds.
type Timing struct {
	HealthCheckPeriod  time.Duration // pgautofailover.health_check_period
	HealthCheckTimeout time.Duration // pgautofailover.health_check_timeout
	HealthCheckRetries int           // pgautofailover.health_check_max_retries
	RetryDelay         time.Duration // pgautofailover.health_check_retry_delay
	UnhealthyTimeout   time.Duration // pgautofailover.node_considered_unhealthy_timeout
	// DemoteTimeout is how long the monitor waits for a lost primary to
	// have demoted itself before the new one takes writes
	// (pgautofailover.primary_demote_timeout).
	DemoteTimeout time.Duration
}

// Default is pg_auto_failover's own timing (a failover in about 45 s).
var Default = Timing{5 * time.Second, 5 * time.Second, 2, 2 * time.Second, 20 * time.Second, 30 * time.Second}

// Fast is the tests' timing (a failover in about 10 s).
var Fast = Timing{time.Second, time.Second, 1, 500 * time.Millisecond, 4 * time.Second, 5 * time.Second}

func (t Timing) settings() map[string]string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return map[string]string{
		"pgautofailover.health_check_period":               ms(t.HealthCheckPeriod),
		"pgautofailover.health_check_timeout":              ms(t.HealthCheckTimeout),
		"pgautofailover.health_check_max_retries":          strconv.Itoa(t.HealthCheckRetries),
		"pgautofailover.health_check_retry_delay":          ms(t.RetryDelay),
		"pgautofailover.node_considered_unhealthy_timeout": ms(t.UnhealthyTimeout),
		"pgautofailover.primary_demote_timeout":            ms(t.DemoteTimeout),
	}
}

// Options configure Start.
type Options struct {
	// Dir holds everything (created; keep it short: socket paths are
	// limited to 107 bytes).
	Dir    string
	Logger *slog.Logger
	Timing Timing // zero: Fast
	// Settings go into every node's postgresql.conf (value written as
	// given, so quote strings: "'…'"), e.g. archive_mode and
	// archive_command; NodeSettings, when set, adds per-node ones.
	Settings     map[string]string
	NodeSettings func(n *Node) map[string]string
	// Owner and Database are created on the primary: a login that may
	// create roles and owns the database (daiban's migrations create the
	// daiban_app role).
	Owner, Database string
}

// Node is one PostgreSQL of the formation with its keeper.
type Node struct {
	Name   string
	Port   int
	PGData string

	log  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Cluster is a running formation.
type Cluster struct {
	opt     Options
	acct    pgserver.Account
	bins    pgserver.Binaries
	autoctl string
	Monitor *Node
	Nodes   []*Node
}

// Start creates the monitor and two nodes and waits until the first is
// primary and the second its synchronous secondary. On error, whatever
// was started is stopped.
func Start(ctx context.Context, opt Options) (c *Cluster, err error) {
	if c, err = newCluster(opt); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("%w（日志在 %s）", err, c.opt.Dir)
		}
	}()
	if err := c.startMonitor(ctx); err != nil {
		return c, err
	}
	for i := range 2 {
		if err := c.addNode(ctx, i); err != nil {
			return c, err
		}
		if i == 0 {
			if err := c.createOwner(ctx); err != nil {
				return c, err
			}
		}
	}
	return c, c.WaitStates(ctx, time.Minute, map[string]string{"node1": "primary", "node2": "secondary"})
}

func newCluster(opt Options) (*Cluster, error) {
	autoctl, err := exec.LookPath("pg_autoctl")
	if err != nil {
		return nil, ErrNoAutoFailover
	}
	bins, err := pgserver.Find()
	if err != nil {
		return nil, err
	}
	acct, err := pgserver.CurrentAccount()
	if err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Timing == (Timing{}) {
		opt.Timing = Fast
	}
	if opt.Owner == "" {
		opt.Owner = "daiban"
	}
	if opt.Database == "" {
		opt.Database = "daiban"
	}
	if opt.Dir, err = filepath.Abs(opt.Dir); err != nil {
		return nil, err
	}
	for _, d := range []string{opt.Dir, filepath.Join(opt.Dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := acct.Chown(opt.Dir); err != nil {
		return nil, err
	}
	if err := acct.CanReach(opt.Dir); err != nil {
		return nil, err
	}
	return &Cluster{opt: opt, acct: acct, bins: bins, autoctl: autoctl}, nil
}

// Dir is the cluster's directory.
func (c *Cluster) Dir() string { return c.opt.Dir }

// Account is the account every program of the cluster runs as.
func (c *Cluster) Account() pgserver.Account { return c.acct }

// freePort asks the kernel for a loopback port nobody uses just now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) newNode(name string) (*Node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &Node{Name: name, Port: port, PGData: filepath.Join(c.opt.Dir, name), log: filepath.Join(c.opt.Dir, name+".log")}, nil
}

// Env is the environment of the cluster's programs: their own XDG
// directories and the server programs on PATH. (Sockets stay in the
// server programs' default directory, /var/run/postgresql on Debian, which
// pg_autoctl connects through while it creates a node.)
func (c *Cluster) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "XDG_") || k == "PATH" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+c.bins.BinDir()+":/usr/bin:/bin",
		"HOME="+c.opt.Dir,
		"XDG_CONFIG_HOME="+filepath.Join(c.opt.Dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(c.opt.Dir, "share"),
		"XDG_RUNTIME_DIR="+filepath.Join(c.opt.Dir, "run"),
	)
}

// Command is name run as the cluster's account with its environment.
func (c *Cluster) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = c.Env()
	cmd.Dir = c.opt.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.acct.Credential(), Setpgid: true}
	return cmd
}

// runQuiet runs one pg_autoctl (or other) command to its end, its output
// appended to log; the error quotes the output's tail.
func (c *Cluster) runQuiet(ctx context.Context, log string, name string, args ...string) error {
	cmd := c.Command(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	appendFile(log, out)
	if err != nil {
		return fmt.Errorf("%s %s：%v：%s", filepath.Base(name), strings.Join(args[:min(2, len(args))], " "), err, tail(out, 600))
	}
	return nil
}

func appendFile(path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// Run starts the node's keeper, "pg_autoctl run", which starts and
// watches its PostgreSQL. It is started from a goroutine locked to its
// thread so that the parent-death signal reaches it only when the test
// process ends (see pgserver's procAttr).
func (c *Cluster) Run(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		select {
		case <-n.done:
		default:
			return fmt.Errorf("%s 已在运行", n.Name)
		}
	}
	lf, err := os.OpenFile(n.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.autoctl, "run", "--pgdata", n.PGData)
	cmd.Env, cmd.Dir = c.Env(), c.opt.Dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.acct.Credential(), Setpgid: true, Pdeathsig: syscall.SIGTERM}
	done := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer lf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("无法启动 pg_autoctl run（%s）：%v", n.Name, err)
	}
	n.cmd, n.done = cmd, done
	return nil
}

// Kill SIGKILLs the node's keeper, its postmaster and every backend (one
// process group) and waits for the keeper to be gone: the machine died.
func (c *Cluster) Kill(n *Node) error {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("%s 未在运行", n.Name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s 的 pg_autoctl 在 SIGKILL 后 10 秒内未退出", n.Name)
	}
	// A backend between fork and its process group could survive; the
	// pid file names the postmaster, which is already gone.
	return nil
}

// Stop ends every keeper (each stops its PostgreSQL), forcefully after
// 20 s.
func (c *Cluster) Stop() {
	all := append(append([]*Node(nil), c.Nodes...), c.Monitor)
	for _, n := range all {
		if n == nil {
			continue
		}
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
}
