package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// serve starts only with the keys "daiban keys init" makes, and says so.
func TestServeWithoutKeysSaysKeysInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	err := serveKeys(dir, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "daiban keys init") || !strings.Contains(err.Error(), "未找到电子签章密钥") {
		t.Fatalf("serveKeys without keys: %v", err)
	}
	cfg := config{KeyDir: dir}
	if err := cmdKeys(context.Background(), cfg, []string{"init"}); err != nil {
		t.Fatal(err)
	}
	// The root CA's key may go offline: serve needs only the seal and
	// ledger keys and the root certificate.
	if err := os.Rename(filepath.Join(dir, rootKeyFile), filepath.Join(t.TempDir(), rootKeyFile)); err != nil {
		t.Fatal(err)
	}
	if err := serveKeys(dir, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("serveKeys without root.key: %v", err)
	}
	if _, err := pdf.LoadSealer(dir); err != nil {
		t.Fatalf("LoadSealer without root.key: %v", err)
	}
	for _, f := range []string{"seal.key", "seal.pem", "root.pem", "ledger.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("keys init made no %s: %v", f, err)
		}
	}
	if err := cmdKeys(context.Background(), cfg, []string{"init", "--if-missing"}); err != nil {
		t.Errorf("keys init --if-missing beside existing keys: %v", err)
	}
}

// Started as root, serve's embedded PostgreSQL runs as the postgres
// account. Keys in DAIBAN_DATA/keys (the default), even ones an older
// version gave to that account, end up root's, 0700/0600, and that account
// cannot read them: not directly, not as the database's superuser.
func TestKeysStayRootsBesideEmbeddedServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the database as another account")
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("no postgres account")
	}
	pgUID, _ := strconv.Atoi(pg.Uid)
	pgGID, _ := strconv.Atoi(pg.Gid)
	base, err := os.MkdirTemp("", "daiban-keys-test-") // not t.TempDir: postgres must pass through
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	cfg := config{DataDir: filepath.Join(base, "data")}
	cfg.KeyDir = filepath.Join(cfg.DataDir, "keys")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cmdKeys(context.Background(), cfg, []string{"init"}); err != nil {
		t.Fatal(err)
	}
	// As an older version left it: the whole data directory the database's.
	err = filepath.WalkDir(cfg.DataDir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			err = os.Lchown(p, pgUID, pgGID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	db, err := openServeDatabase(t.Context(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if !strings.Contains(logs.String(), "已改回当前用户所有") {
		t.Errorf("no log line about the keys taken back:\n%s", logs.String())
	}
	checkKeysRoots(t, cfg.KeyDir, pgUID, pgGID)

	seal := filepath.Join(cfg.KeyDir, sealKeyFile)
	super, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(context.Background())
	var out string
	err = super.QueryRow(t.Context(), "SELECT pg_read_file($1)", seal).Scan(&out)
	if err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("pg_read_file(%s) as the database superuser: read %d bytes, %v; want permission denied", seal, len(out), err)
	}
	err = db.Pool.QueryRow(t.Context(), "SELECT pg_read_file($1)", seal).Scan(&out)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("pg_read_file(%s) on the server's pool: read %d bytes, %v; want permission denied", seal, len(out), err)
	}
}

// checkKeysRoots fails t unless every entry of dir is root's with no
// group or other permissions, and the account uid:gid cannot read the
// seal key.
func checkKeysRoots(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{dir}
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	for _, p := range paths {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 || st.Gid != 0 || os.FileMode(st.Mode).Perm()&0o077 != 0 {
			t.Errorf("%s: owner %d:%d mode %o, want root's and private", p, st.Uid, st.Gid, os.FileMode(st.Mode).Perm())
		}
	}
	cat := exec.Command("cat", filepath.Join(dir, sealKeyFile))
	cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cat.Stdout = io.Discard
	if err := cat.Run(); err == nil {
		t.Errorf("the postgres account read %s", filepath.Join(dir, sealKeyFile))
	}
}

// On an external PostgreSQL the server logs in as DAIBAN_APP_DATABASE_URL's
// role; without one it logs in as the owner, works, and warns when the
// owner is a superuser.
func TestExternalDatabaseLogin(t *testing.T) {
	url := pgtest.NewDatabase(t, "")
	appURL := strings.Replace(url, "://"+pgserver.Superuser+"@", "://"+migrations.AppRole+"@", 1)
	for _, c := range []struct {
		name, appURL, login string
		warns               bool
	}{
		{"owner only", "", pgserver.Superuser, true},
		{"own login", appURL, migrations.AppRole, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := config{DatabaseURL: url, AppDatabaseURL: c.appURL}
			db, err := openDatabase(t.Context(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var login, role string
			if err := db.Pool.QueryRow(t.Context(), "SELECT session_user::text, current_user::text").Scan(&login, &role); err != nil {
				t.Fatal(err)
			}
			if login != c.login || role != migrations.AppRole {
				t.Errorf("pool logs in as %s working as %s; want %s as %s", login, role, c.login, migrations.AppRole)
			}
			if warned := strings.Contains(logs.String(), "DAIBAN_APP_DATABASE_URL"); warned != c.warns {
				t.Errorf("warning logged: %v, want %v:\n%s", warned, c.warns, logs.String())
			}
		})
	}
}

// An install made before the PAdES seal lacks the local TSA and the CRL:
// serve says what to run, `keys init --if-missing` adds them, and
// `keys rotate` / `keys revoke` work from the command line.
func TestKeysCompleteRotateRevoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	cfg := config{KeyDir: dir, BaseURL: "https://zw.example.cn"}
	if err := cmdKeys(context.Background(), cfg, []string{"init"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tsa.key", "tsa.pem", "root.crl"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := pdf.LoadSealer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "daiban keys init --if-missing") || !strings.Contains(err.Error(), "DAIBAN_TSA_URL") {
		t.Fatalf("old key directory: %v", err)
	}
	if err := cmdKeys(context.Background(), cfg, []string{"init", "--if-missing"}); err != nil {
		t.Fatal(err)
	}
	if s, err = pdf.LoadSealer(dir); err != nil || s.Ready() != nil {
		t.Fatalf("after --if-missing: %v %v", err, s.Ready())
	}
	seal, err := os.ReadFile(filepath.Join(dir, "seal.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tsa, _ := os.ReadFile(filepath.Join(dir, "tsa.pem"))
	if c := parseCert(t, tsa); len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != "https://zw.example.cn/pki/root.crl" {
		t.Errorf("TSA certificate's CRL distribution points: %v", c.CRLDistributionPoints)
	}
	old := pdf.SerialHex(parseCert(t, seal).SerialNumber)
	if err := cmdKeys(context.Background(), cfg, []string{"rotate"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "seal-"+old+".pem")); err != nil {
		t.Errorf("rotate kept no old certificate: %v", err)
	}
	if err := cmdKeys(context.Background(), cfg, []string{"revoke", "--serial", old}); err == nil {
		t.Error("revoke without a reason accepted")
	}
	if err := cmdKeys(context.Background(), cfg, []string{"revoke", "--serial", strings.ToLower(old), "--reason", "superseded"}); err != nil {
		t.Fatal(err)
	}
	if s, err = pdf.LoadSealer(dir); err != nil {
		t.Fatal(err)
	}
	if r, ok := s.Revocation(old); !ok || r.Reason != "superseded" {
		t.Errorf("revocation of %s: %v %+v", old, ok, r)
	}
}

func parseCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
