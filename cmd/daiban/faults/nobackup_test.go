package faults_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedWarnsNoBackup: the single-machine default — its own
// PostgreSQL, no cluster, no backup configured — serves as before, says
// once in its log that there is no backup, and "daiban backup check"
// reports it and exits 1.
func TestEmbeddedWarnsNoBackup(t *testing.T) {
	bin := buildDaiban(t)
	dir, err := os.MkdirTemp("", "nobk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// The database's account must pass through (PostgreSQL refuses root).
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	d := newDaiban(t, bin, "")
	var env []string
	for _, kv := range d.env {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "DAIBAN_APP_DATABASE_URL=") && !strings.HasPrefix(kv, "DAIBAN_PGBACKREST_") {
			env = append(env, kv)
		}
	}
	d.env = withEnv(withEnv(env, "DAIBAN_DATA", filepath.Join(dir, "data")), "DAIBAN_LOG_LEVEL", "info")
	d.start(t)
	out, err := d.run(t, "backup", "check")
	if err == nil || !strings.Contains(out, "问题：未配置数据库备份") {
		t.Fatalf("daiban backup check without backups: %v (want exit 1)\n%s", err, out)
	}
	t.Logf("daiban backup check (exit 1):\n%s", out)
	// The warning is logged beside the starting server: wait for it.
	var b []byte
	for i := 0; i < 50; i++ {
		if b, err = os.ReadFile(d.log); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "未配置数据库备份") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := strings.Count(string(b), "未配置数据库备份"); n != 1 {
		t.Fatalf("serve log mentions the missing backup %d times, want once:\n%s", n, b)
	}
	if st, _, err := d.get("/healthz", 5*time.Second); err != nil || st != 200 {
		t.Fatalf("/healthz: %d %v", st, err)
	}
}
