package faults_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// diskFullMessage is what a client is told when the database is out of
// space (httpapi.translate).
const diskFullMessage = "存储空间已满"

// smallVolume mounts a tmpfs of sizeMiB owned by the PostgreSQL server's
// user and makes it the tablespace name on the test server: a small disk
// for a database's files, while the server's WAL stays on its own volume.
// It returns the mount point; everything is undone at cleanup (drop the
// databases on it first: register them after calling this).
func smallVolume(t *testing.T, name string, sizeMiB int) string {
	t.Helper()
	// CI sets DAIBAN_REQUIRE_FAULTS so that this fault is never skipped
	// silently there.
	skip := t.Skipf
	if os.Getenv("DAIBAN_REQUIRE_FAULTS") != "" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("mounting a small tmpfs for the disk-full fault needs root (CI runs as root)")
	}
	unmountStale(t)
	srv := pgtest.Server(t)
	var st syscall.Stat_t
	// The cluster's own directory belongs to the server's account (the
	// data directory around it stays root's).
	if err := syscall.Stat(filepath.Join(srv.DataDir(), "pg"), &st); err != nil {
		t.Fatal(err)
	}
	// Under /tmp and world-traversable: the server's user must reach it.
	mnt, err := os.MkdirTemp("", "daiban-diskfull-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(mnt) })
	opts := fmt.Sprintf("size=%dm,uid=%d,gid=%d,mode=0700", sizeMiB, st.Uid, st.Gid)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, opts); err != nil {
		if errors.Is(err, syscall.EPERM) {
			skip("cannot mount a tmpfs here (%v): the disk-full fault needs CAP_SYS_ADMIN", err)
		}
		t.Fatalf("mount tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	loc := filepath.Join(mnt, "ts")
	if err := os.Mkdir(loc, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(loc, int(st.Uid), int(st.Gid)); err != nil {
		t.Fatal(err)
	}
	adminExec(t, fmt.Sprintf("CREATE TABLESPACE %s LOCATION '%s'", pgx.Identifier{name}.Sanitize(), loc))
	t.Cleanup(func() { adminExec(t, "DROP TABLESPACE IF EXISTS "+pgx.Identifier{name}.Sanitize()) })
	return mnt
}

// unmountStale unmounts the volumes of earlier runs that were killed
// before their cleanup (a test binary's timeout, a kill): mount points of
// this test untouched for half an hour, far beyond its time bound.
func unmountStale(t *testing.T) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	prefix := filepath.Join(os.TempDir(), "daiban-diskfull-")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[4], prefix) {
			continue
		}
		st, err := os.Stat(f[4])
		if err != nil || time.Since(st.ModTime()) < 30*time.Minute {
			continue
		}
		if err := syscall.Unmount(f[4], syscall.MNT_DETACH); err == nil {
			_ = os.Remove(f[4])
			t.Logf("unmounted the stale volume %s of an earlier run", f[4])
		}
	}
}

// adminExec runs stmt as superuser on the test server's maintenance
// database.
func adminExec(t *testing.T, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.Server(t).URLFor("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// fillUp writes path until the volume has no space left.
func fillUp(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if err == nil {
			continue
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling %s: %v", path, err)
		}
		// The last pages, a block at a time.
		for {
			w, err := f.Write(buf[:4096])
			n += int64(w)
			if err != nil {
				return n
			}
		}
	}
}

// TestDiskFullMidLoad fills the disk holding the database's files while
// agents run cases and an applicant signs an agreement (a sealed PDF to
// store). While the disk is full every write answers 503 "unavailable"
// with a message saying the storage is full — never a 500, a hang or a
// crash — the refused signature leaves nothing half-written, reads still
// work, and once space is freed the same signing link and the agents go on
// without a restart; every acknowledged action is there and the ledger
// verifies.
//
// The database (its tables, indexes and catalogs) is moved to a 48 MiB
// tmpfs tablespace; WAL stays on the server's own disk, as on a server
// with a separate WAL volume. A full WAL volume makes PostgreSQL stop
// (PANIC), which the service sees as TestDatabaseStopsMidLoad's outage.
func TestDiskFullMidLoad(t *testing.T) {
	mnt := smallVolume(t, "daiban_diskfull", 48)
	bin := buildDaiban(t)
	url := pgtest.NewDatabase(t, apptest.Template(t))
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	adminExec(t, "ALTER DATABASE "+pgx.Identifier{cfg.Database}.Sanitize()+" SET TABLESPACE daiban_diskfull")

	agents := makeAgents(t, url, 4)
	d := newDaiban(t, bin, url)
	d.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := "http://" + d.addr
	c, err := login(ctx, base, agents[0])
	if err != nil {
		t.Fatal(err)
	}
	id, token, p := agreementPending(ctx, t, c, agents[0], 5)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	rec := newRecorder()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	wg := runWorkers(loadCtx, base, agents[1:], rec, "diskfull", false)
	time.Sleep(2 * time.Second)
	acksBefore := len(rec.snapshot())

	filler := filepath.Join(mnt, "filler")
	filled := fillUp(t, filler)
	fullAt := time.Now()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &fs); err != nil {
		t.Fatal(err)
	}
	t.Logf("volume full: %d MiB of filler, %d bytes free", filled>>20, fs.Bavail*uint64(fs.Bsize))
	// The agents keep writing (some writes still fit in free space), so
	// only the signed case's entries must stay as they are.
	var caseEntries int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE case_id = $1`, id).Scan(&caseEntries); err != nil {
		t.Fatal(err)
	}

	// The applicant signs: the sealed agreement cannot be stored.
	anon := &client{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	signBody := map[string]any{"image_png": signaturePNG(t, 7), "id_last4": p.IDNumber[14:]}
	r, err := anon.do(ctx, http.MethodPost, "/api/v1/sign/"+token, signBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("applicant signature on a full disk: %d %s (%v)", r.status, r.raw, r.dur)
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if r.status != http.StatusServiceUnavailable || r.code() != "unavailable" || !strings.Contains(msg, diskFullMessage) {
		t.Errorf("applicant signature on a full disk: %d %s, want 503 unavailable saying %q", r.status, r.raw, diskFullMessage)
	}
	if strings.Contains(string(r.raw), "No space") || strings.Contains(string(r.raw), "pg_tblspc") {
		t.Errorf("database error text leaked to the client: %s", r.raw)
	}
	// Reads go on.
	rr, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil)
	if err != nil || rr.status != http.StatusOK {
		t.Errorf("reading a case on a full disk: %v %d %s", err, rr.status, rr.raw)
	}
	// Let the agents hit the full disk for a while.
	for time.Since(fullAt) < 4*time.Second {
		if !d.alive() {
			t.Fatal("daiban serve exited on a full disk")
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkNotSigned(ctx, t, conn, id, -1, caseEntries)
	rec.mu.Lock()
	fullStatuses := fmt.Sprint(rec.statuses)
	refused := rec.statuses["503/unavailable"]
	rec.mu.Unlock()
	acksFull := len(rec.snapshot())

	// Free the space: no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	signed := false
	for time.Since(freedAt) < 30*time.Second {
		r, err = anon.do(ctx, http.MethodPost, "/api/v1/sign/"+token, signBody, nil)
		if err == nil && r.status == http.StatusOK {
			signed = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !signed {
		t.Fatalf("the same signing link after space was freed: %v %d %s", err, r.status, r.raw)
	}
	recoveredIn := time.Since(freedAt)
	checkSigned(ctx, t, conn, id)
	time.Sleep(3 * time.Second)
	stopLoad()
	wg.Wait()
	acks := rec.snapshot()
	t.Logf("acks: %d before the disk filled, %d while full, %d in total; non-2xx while full: %s; signing recovered in %v; slowest answer %v",
		acksBefore, acksFull-acksBefore, len(acks), fullStatuses, recoveredIn, rec.maxDur)

	if refused == 0 {
		t.Error("no agent action was refused while the disk was full: the fault did not take effect")
	}
	if len(acks) <= acksFull {
		t.Error("no agent action succeeded after space was freed")
	}
	rec.checkFault(t, "on a full disk")
	if !d.alive() {
		t.Fatal("daiban serve died")
	}
	checkDurable(t, url, acks)
	if out, err := d.run(t, "ledger", "checkpoint"); err != nil {
		t.Fatalf("daiban ledger checkpoint: %v\n%s", err, out)
	}
	if out, err := d.run(t, "ledger", "verify"); err != nil {
		t.Fatalf("daiban ledger verify: %v\n%s", err, out)
	} else {
		t.Logf("ledger verify: %s", strings.TrimSpace(out))
	}
}
