package main

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/migrations"
)

// swapFile points *f at a new file in dir holding content, for the length
// of the test.
func swapFile(t *testing.T, f **os.File, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	nf, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	old := *f
	*f = nf
	t.Cleanup(func() { *f = old; nf.Close() })
	return path
}

// TestUserCommandsAreRecorded: `daiban user add/set` go through the same
// password rules, may grant a county-wide case role (the operator on the
// server is the second hand the API lacks), and each change is a ledger
// entry naming "cli:<os user>".
func TestUserCommandsAreRecorded(t *testing.T) {
	url := apptest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DAIBAN_DATA", t.TempDir())
	ctx := context.Background()
	dir := t.TempDir()
	add := []string{"user", "add", "--username", "cli.agent", "--role", "county_agent", "--region", "370323", "--name", "县代办员"}

	swapFile(t, &os.Stdin, dir, "weak", "woaini1314\n")
	if err := run(ctx, add); err == nil || !strings.Contains(message(err), "过于常见") {
		t.Fatalf("user add with a common password: %v", err)
	}
	swapFile(t, &os.Stdin, dir, "good", "river-stone-lamp\n")
	swapFile(t, &os.Stdout, dir, "out", "")
	if err := run(ctx, add); err != nil {
		t.Fatalf("user add: %s", message(err))
	}
	swapFile(t, &os.Stdin, dir, "reset", "lamp-river-stone\n")
	if err := run(ctx, []string{"user", "set", "--username", "cli.agent", "--disabled=true", "--password-stdin"}); err != nil {
		t.Fatalf("user set: %s", message(err))
	}

	owner, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	rows, err := owner.Query(ctx, "SELECT actor || ' ' || type FROM ledger_entries WHERE type LIKE 'user.%' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	rows.Close()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	actor := "cli:" + me.Username
	want := []string{actor + " user.created", actor + " user.disabled", actor + " user.password_reset"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ledger: %v, want %v", got, want)
	}
}

// TestDemoPasswordsNeverInTheLog loads the demo county with stdout and
// the log (stderr) going to files, as under a service manager: no demo
// password reaches either; they are in a file only the owner can read.
func TestDemoPasswordsNeverInTheLog(t *testing.T) {
	url := apptest.NewDatabase(t)
	data := t.TempDir()
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DAIBAN_DATA", data)
	t.Setenv("DAIBAN_LOG_LEVEL", "debug")
	dir := t.TempDir()
	stdout := swapFile(t, &os.Stdout, dir, "stdout", "")
	stderr := swapFile(t, &os.Stderr, dir, "stderr", "")
	if err := run(context.Background(), []string{"demo"}); err != nil {
		t.Fatalf("demo: %s", message(err))
	}
	pwFile := filepath.Join(data, demoAccountsFile)
	fi, err := os.Stat(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", pwFile, fi.Mode().Perm())
	}
	list, _ := os.ReadFile(pwFile)
	out, _ := os.ReadFile(stdout)
	logs, _ := os.ReadFile(stderr)
	if !strings.Contains(string(out), pwFile) {
		t.Errorf("stdout does not say where the passwords are: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) < 3 {
		t.Fatalf("password file: %s", list)
	}
	for _, line := range lines[2:] { // after the title and the header
		f := strings.Fields(line)
		if len(f) < 2 || len(f[1]) != 12 {
			t.Fatalf("password file line %q", line)
		}
		if strings.Contains(string(out), f[1]) || strings.Contains(string(logs), f[1]) {
			t.Errorf("the password of %s reached stdout or the log", f[0])
		}
	}
}
