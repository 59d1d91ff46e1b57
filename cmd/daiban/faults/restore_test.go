package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/sql/backup"
	"github.com/daiban/daiban/sql/pgserver/pgcluster"
)

// repo is a pgBackRest repository in a directory, and the configuration
// every node's archive_command and the test's commands use.
type repo struct {
	conf   string
	stanza string
}

// newRepo writes pgbackrest.conf under dir: the repository, its log and
// lock directories, fast checkpoints at backup start, lz4 compression.
// An S3-compatible or NFS repository changes only the repo1-* lines
// (docs/ops.md).
func newRepo(t *testing.T, dir string) *repo {
	t.Helper()
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		if os.Getenv("DAIBAN_REQUIRE_FAULTS") == "" {
			t.Skip("pgbackrest is not installed (apt-get install pgbackrest)")
		}
		t.Fatal(err)
	}
	r := &repo{conf: filepath.Join(dir, "pgbackrest.conf"), stanza: "daiban"}
	conf := fmt.Sprintf(`[global]
repo1-path=%[1]s/repo
repo1-retention-full=2
log-path=%[1]s/pgbackrest-log
lock-path=%[1]s/pgbackrest-lock
log-level-file=info
start-fast=y
compress-type=lz4
process-max=1

[daiban]
pg1-socket-path=/var/run/postgresql
`, dir)
	if err := os.WriteFile(r.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// archiving is the cluster option that archives every node's WAL into
// the repository.
func (r *repo) archiving(opt *pgcluster.Options) {
	opt.Settings = map[string]string{"archive_mode": "on"}
	opt.NodeSettings = func(n *pgcluster.Node) map[string]string {
		return map[string]string{"archive_command": fmt.Sprintf("'pgbackrest --config=%s --stanza=%s --pg1-path=%s archive-push %%p'", r.conf, r.stanza, n.PGData)}
	}
}

// run runs pgbackrest as the cluster's account on node n (nil: no node).
func (r *repo) run(t *testing.T, c *pgcluster.Cluster, n *pgcluster.Node, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := []string{"--config=" + r.conf, "--stanza=" + r.stanza}
	if n != nil {
		all = append(all, "--pg1-path="+n.PGData, "--pg1-port="+strconv.Itoa(n.Port))
	}
	out, err := c.Command(ctx, "pgbackrest", append(all, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbackrest %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// restoredServer is a PostgreSQL started on a restored data directory.
type restoredServer struct {
	cmd  *exec.Cmd
	done chan struct{}
	port int
}

// startRestored starts PostgreSQL on dir as the cluster's account, alone:
// no archiving into the repository, no synchronous standby to wait for.
// It waits until recovery has reached its target and promoted.
func startRestored(t *testing.T, c *pgcluster.Cluster, dir string) *restoredServer {
	t.Helper()
	port, err := freePortNum()
	if err != nil {
		t.Fatal(err)
	}
	lf, err := os.Create(filepath.Join(filepath.Dir(dir), "restored.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := c.Command(context.Background(), "postgres", "-D", dir, "-c", "port="+strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "archive_mode=off", "-c", "synchronous_standby_names=", "-c", "logging_collector=off")
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &restoredServer{cmd: cmd, done: make(chan struct{}), port: port}
	go func() { _ = cmd.Wait(); lf.Close(); close(s.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=3", port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var inRecovery bool
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			err = conn.QueryRow(context.Background(), "SELECT pg_is_in_recovery()").Scan(&inRecovery)
			conn.Close(context.Background())
			if err == nil && !inRecovery {
				return s
			}
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(lf.Name())
			t.Fatalf("restored PostgreSQL exited: %v\n%s", cmd.ProcessState, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(lf.Name())
			t.Fatalf("restored PostgreSQL not promoted within 90 s (%v)\n%s", err, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func freePortNum() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// checkRestoredAt: every write acknowledged before t is in the restored
// database at url, and nothing sent after t.
func checkRestoredAt(t *testing.T, url string, before, after []ack) {
	t.Helper()
	checkDurable(t, url, before)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	present := 0
	for _, a := range after {
		var version int64
		err := conn.QueryRow(ctx, "SELECT version FROM cases WHERE id = $1", a.id).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if version >= a.version {
			present++
			if present <= 10 {
				t.Errorf("%s of case %d (version %d), sent after the target time, is in the restored database", a.action, a.id, a.version)
			}
		}
	}
	t.Logf("restored to T: %d writes acknowledged before T all present; %d sent after T, none present", len(before), len(after))
}

// TestRestoreToPointInTime takes a full backup of the formation's
// primary with pgBackRest, archives its WAL under load, notes a time T,
// loads more, restores to T into a fresh directory and starts daiban on
// it: everything acknowledged before T is there, nothing sent after T,
// and the ledger verifies against a checkpoint kept before T.
func TestRestoreToPointInTime(t *testing.T) {
	begin := time.Now()
	bin := buildDaiban(t)
	dir, err := os.MkdirTemp("", "bk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := newRepo(t, dir)
	var opt pgcluster.Options
	r.archiving(&opt)
	c := startCluster(t, opt)
	if err := c.Account().Chown(dir); err != nil {
		t.Fatal(err)
	}
	url := c.URL("daiban")
	prepareDB(t, url)
	agents := makeAgents(t, url, 2)
	d := newDaiban(t, bin, url)
	d.env = withEnv(withEnv(d.env, "DAIBAN_PGBACKREST_STANZA", r.stanza), "DAIBAN_PGBACKREST_CONFIG", r.conf)
	d.start(t)

	primary := c.Nodes[0]
	t.Run("full backup", func(t *testing.T) {
		r.run(t, c, primary, "stanza-create")
		b := time.Now()
		r.run(t, c, primary, "--type=full", "backup")
		t.Logf("full backup in %.1f s", time.Since(b).Seconds())
	})
	kept, _ := keepCheckpoint(t, d, "before-T.checkpoint")

	col := &answers{}
	ctx, cancel := context.WithCancel(context.Background())
	waitLoad := startLoad(ctx, t, []*daiban{d}, agents, col)
	time.Sleep(5 * time.Second)
	target := time.Now()
	time.Sleep(4 * time.Second)
	cancel()
	waitLoad()
	var before, after []ack
	for _, a := range col.snapshot() {
		switch {
		case !a.Acknowledged():
		case a.At.Before(target):
			before = append(before, ack{id: a.CaseID, version: a.Version, action: a.Action})
		case a.Sent.After(target):
			after = append(after, ack{id: a.CaseID, version: a.Version, action: a.Action})
		}
	}
	if len(before) == 0 || len(after) == 0 {
		t.Fatalf("load acknowledged %d writes before T and %d after; want some of each", len(before), len(after))
	}

	t.Run("archiving works and backup check reports it", func(t *testing.T) {
		// "pgbackrest check" switches WAL and waits until it is archived.
		r.run(t, c, primary, "check")
		out, err := d.runStdout(t, "backup", "check")
		t.Logf("daiban backup check:\n%s", out)
		if err != nil || !strings.Contains(out, "结论：正常") {
			t.Fatalf("daiban backup check: %v", err)
		}
		checkStale(t, url, r)
	})

	restored := filepath.Join(dir, "restored")
	t.Run("restore to T into a fresh directory", func(t *testing.T) {
		if err := os.Mkdir(restored, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := c.Account().Chown(restored); err != nil {
			t.Fatal(err)
		}
		b := time.Now()
		r.run(t, c, nil, "--pg1-path="+restored, "--type=time", "--target="+target.UTC().Format("2006-01-02 15:04:05.000000+00"),
			"--target-action=promote", "restore")
		t.Logf("restore to %s in %.1f s", target.UTC().Format("15:04:05.000"), time.Since(b).Seconds())
	})
	srv := startRestored(t, c, restored)
	rurl := fmt.Sprintf("postgres://daiban@127.0.0.1:%d/daiban?sslmode=disable", srv.port)

	t.Run("daiban on the restored database", func(t *testing.T) {
		d2 := newDaiban(t, bin, rurl)
		d2.env = withEnv(d2.env, "DAIBAN_KEYS", envOf(d.env, "DAIBAN_KEYS"))
		d2.start(t)
		checkRestoredAt(t, rurl, before, after)
		out, err := d2.run(t, "ledger", "verify", "--checkpoint", kept)
		if err != nil {
			t.Fatalf("daiban ledger verify --checkpoint (kept before T): %v\n%s", err, out)
		}
		t.Logf("ledger verify --checkpoint: %s", strings.TrimSpace(out))
		c2, err := login(context.Background(), "http://"+d2.addr, agents[0])
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := lifecycle(context.Background(), c2, agents[0], newRecorder(), "restored-1", 1); !ok {
			t.Fatalf("a new case on the restored database: %v", err)
		}
	})
	t.Logf("whole test %.1f s", time.Since(begin).Seconds())
}

// checkStale: with the clock 27 hours on, the same repository has no
// backup within 26 hours, which the check reports (and the command exits
// 1 on).
func checkStale(t *testing.T, url string, r *repo) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s := backup.Check(ctx, conn, backup.Config{Stanza: r.stanza, ConfigFile: r.conf}, time.Now().Add(27*time.Hour))
	if s.OK() || s.LastBackup == nil || !strings.Contains(strings.Join(s.Problems, "；"), "已超过 26 小时") {
		t.Fatalf("27 hours later: %+v", s)
	}
	t.Logf("27 hours later the check says: %s", strings.Join(s.Problems, "；"))
}
