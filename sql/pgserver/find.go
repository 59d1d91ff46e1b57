package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Binaries are the located server programs.
type Binaries struct {
	InitDB   string // absolute path of initdb
	Postgres string // absolute path of postgres
	PgCtl    string // absolute path of pg_ctl; "" when absent (not needed to run)
	Version  string // server version as reported by "postgres --version", e.g. "15.8"
}

// ErrNotFound is returned by Find (and Start) when no PostgreSQL server
// programs are installed. Its message is one line meant for the user.
var ErrNotFound = errors.New("未找到 PostgreSQL 服务器程序（initdb/postgres）：请安装 PostgreSQL（apt-get install postgresql），或设置 DATABASE_URL 使用已有的数据库")

// debianRoot is where Debian/Ubuntu packages put one bin directory per major
// version (e.g. /usr/lib/postgresql/15/bin). A variable for tests.
var debianRoot = "/usr/lib/postgresql"

// Find locates initdb and postgres: on PATH first, then under
// /usr/lib/postgresql/*/bin (highest major version first). A candidate whose
// postgres cannot report its version is skipped. When nothing usable exists
// it returns ErrNotFound.
func Find() (Binaries, error) {
	type candidate struct{ initdb, postgres, pgctl string }
	var cands []candidate

	if i, err := lookPath("initdb"); err == nil {
		if p, err := lookPath("postgres"); err == nil {
			c, _ := lookPath("pg_ctl")
			cands = append(cands, candidate{i, p, c})
		}
	}
	for _, dir := range debianBinDirs() {
		c := candidate{
			initdb:   filepath.Join(dir, "initdb"),
			postgres: filepath.Join(dir, "postgres"),
			pgctl:    filepath.Join(dir, "pg_ctl"),
		}
		if !isExecutable(c.pgctl) {
			c.pgctl = ""
		}
		cands = append(cands, c)
	}

	for _, c := range cands {
		if !isExecutable(c.initdb) || !isExecutable(c.postgres) {
			continue
		}
		v, err := serverVersion(c.postgres)
		if err != nil {
			continue
		}
		return Binaries{InitDB: c.initdb, Postgres: c.postgres, PgCtl: c.pgctl, Version: v}, nil
	}
	return Binaries{}, ErrNotFound
}

// lookPath is exec.LookPath returning an absolute path.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// debianBinDirs lists debianRoot/<version>/bin, highest version first.
func debianBinDirs() []string {
	entries, err := os.ReadDir(debianRoot)
	if err != nil {
		return nil
	}
	type dir struct {
		version []int
		path    string
	}
	var dirs []dir
	for _, e := range entries {
		v, ok := parseVersion(e.Name())
		if !ok {
			continue
		}
		dirs = append(dirs, dir{v, filepath.Join(debianRoot, e.Name(), "bin")})
	}
	sort.SliceStable(dirs, func(i, j int) bool { return compareVersions(dirs[i].version, dirs[j].version) > 0 })
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = d.path
	}
	return out
}

// parseVersion parses "15", "9.6" or "15.8" into its numeric parts.
func parseVersion(s string) ([]int, bool) {
	if s == "" {
		return nil, false
	}
	var out []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// serverVersion runs "postgres --version" (allowed even as root) and returns
// the version number, e.g. "15.8" from "postgres (PostgreSQL) 15.8 (Debian ...)".
func serverVersion(postgres string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, postgres, "--version").Output()
	if err != nil {
		return "", err
	}
	return parseVersionOutput(string(out))
}

func parseVersionOutput(out string) (string, error) {
	const marker = "(PostgreSQL)"
	i := strings.Index(out, marker)
	if i < 0 {
		return "", fmt.Errorf("unexpected postgres --version output %q", out)
	}
	fields := strings.Fields(out[i+len(marker):])
	if len(fields) == 0 {
		return "", fmt.Errorf("unexpected postgres --version output %q", out)
	}
	v := fields[0]
	// Development builds print e.g. "17devel" or "16beta1": keep the digits
	// and dots of the leading number.
	end := 0
	for end < len(v) && (v[end] == '.' || (v[end] >= '0' && v[end] <= '9')) {
		end++
	}
	if end == 0 {
		return "", fmt.Errorf("unexpected postgres --version output %q", out)
	}
	return v[:end], nil
}

// majorVersion returns the major version the way PG_VERSION spells it:
// "15" for 15.8, "9.6" for 9.6.24.
func majorVersion(v string) string {
	parts := strings.Split(strings.Trim(v, "."), ".")
	if n, err := strconv.Atoi(parts[0]); err == nil && n < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

// majorAtLeast reports whether version v has major version >= n (n >= 10).
func majorAtLeast(v string, n int) bool {
	m, err := strconv.Atoi(strings.Split(v, ".")[0])
	return err == nil && m >= n
}
