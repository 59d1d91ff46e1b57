package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const origin = "test.daiban.local/ledger"

func migrate(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrations.Up(ctx, pool, nil)
}

// env is one fresh migrated database with an owner pool (for tampering, as
// an attacker with the owner's rights would) and an app pool (the server's
// daiban_app role, which the ledger code uses).
type env struct {
	url   string
	owner *pgxpool.Pool
	app   *pgxpool.Pool
	sig   *ledger.Signer
	log   *ledger.Log
}

func newEnv(t testing.TB) *env {
	t.Helper()
	url := pgtest.NewDatabase(t, pgtest.Template(t, "ledger_migrated", migrate))
	ctx := context.Background()
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	app := appPool(t, url)
	sig, err := ledger.LoadOrCreateKey(filepath.Join(t.TempDir(), "keys"), origin)
	if err != nil {
		t.Fatal(err)
	}
	return &env{url: url, owner: owner, app: app, sig: sig, log: ledger.New(app, sig)}
}

func appPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := migrations.OpenAppPool(context.Background(), url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// appendEntries commits n entries, one transaction each, for case caseID
// in region.
func (e *env) appendEntries(t testing.TB, n int, caseID int64, region string) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, n)
	for i := range n {
		id, err := ledger.Append(ctx, e.app, ledger.Meta{Actor: "zhangsan", CaseID: caseID, Region: region, Type: "case.progress"},
			map[string]any{"note": fmt.Sprintf("第 %d 次办理进度", i), "step": i, "applicant": "张*"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// integrateAll integrates until nothing is left and returns the count.
func (e *env) integrateAll(t testing.TB) int {
	t.Helper()
	total := 0
	for {
		n, err := e.log.Integrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := e.owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestCanonical(t *testing.T) {
	type inner struct {
		Zeta  int    `json:"zeta"`
		Alpha string `json:"alpha"`
	}
	got, err := ledger.Canonical(map[string]any{
		"b": []any{1, "x<y>&z", nil, true},
		"a": inner{Zeta: 2, Alpha: "甲\n\"乙\"\\"},
		"c": json.RawMessage(` { "y" : 1.50, "x" : [ ] } `),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"alpha":"甲\n\"乙\"\\","zeta":2},"b":[1,"x<y>&z",null,true],"c":{"x":[],"y":1.50}}`
	if string(got) != want {
		t.Fatalf("Canonical:\n got %s\nwant %s", got, want)
	}
	if got, _ := ledger.Canonical(nil); string(got) != "{}" {
		t.Fatalf("Canonical(nil) = %s", got)
	}
	// Full ID numbers and mobile numbers are refused; masked ones pass.
	for _, bad := range []string{"11010519491231002X", "110105194912310021x", "13812345678", "+8613812345678"} {
		_, err := ledger.Canonical(map[string]any{"v": bad})
		if bad == "110105194912310021x" { // 19 characters: not an ID number
			if err != nil {
				t.Errorf("%s refused: %v", bad, err)
			}
			continue
		}
		if daiban.ErrorCode(err) != daiban.EINVALID {
			t.Errorf("%s not refused: %v", bad, err)
		}
	}
	for _, ok := range []string{"3701**********1234", "138****5678", "110105194912310021" /* wrong check digit */, "12345678901"} {
		if _, err := ledger.Canonical(map[string]any{"v": ok}); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

func TestAppendTimeMatchesTimeFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []int64{0, -1, 1, 946684800_000000, -62135596800_000000, 253402300799_999999, 951782400_000000 /* 2000-02-29 */}
	for range 20000 {
		cases = append(cases, r.Int64N(253402300799_999999+62135596800_000000)-62135596800_000000)
	}
	for _, us := range cases {
		want := time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
		if got := string(ledger.AppendTime(nil, us)); got != want {
			t.Fatalf("AppendTime(%d) = %s, want %s", us, got, want)
		}
	}
}

// The incremental tree computation of Verify agrees with tlog.TreeHash at
// every size, and the right-edge indexes are the ones tlog reads.
func TestFrontierMatchesTlog(t *testing.T) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	var leaves []tlog.Hash
	for n := int64(0); n < 600; n++ {
		data := []byte(fmt.Sprintf("leaf %d", n))
		leaves = append(leaves, tlog.RecordHash(data))
		hs, err := tlog.StoredHashes(n, data, reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	roots := ledger.FrontierRoots(leaves)
	for n := int64(1); n <= int64(len(leaves)); n++ {
		want, err := tlog.TreeHash(n, reader)
		if err != nil {
			t.Fatal(err)
		}
		if roots[n-1] != want {
			t.Fatalf("root of %d leaves differs from tlog.TreeHash", n)
		}
		// TreeHash must be computable from the right edge alone.
		edge := map[int64]bool{}
		for _, x := range ledger.FrontierIndexes(n) {
			edge[x] = true
		}
		limited := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			for _, x := range idx {
				if !edge[x] {
					return nil, fmt.Errorf("read %d outside the right edge of %d", x, n)
				}
			}
			return reader.ReadHashes(idx)
		})
		if _, err := tlog.TreeHash(n, limited); err != nil {
			t.Fatal(err)
		}
	}
}

// The leaf encoding is a contract (auditors recompute it from the export).
func TestLeafEncoding(t *testing.T) {
	e := ledger.Entry{
		At:      time.Date(2025, 3, 1, 8, 30, 0, 123456000, time.FixedZone("CST", 8*3600)),
		Actor:   "li\"si",
		CaseID:  42,
		Region:  "370323001",
		Type:    "case.review",
		Payload: json.RawMessage(`{"note":"材料齐全","result":"accept"}`),
	}
	want := `["daiban.ledger/v1","2025-03-01T00:30:00.123456Z","li\"si",42,"370323001","case.review",{"note":"材料齐全","result":"accept"}]`
	if got := string(e.Leaf()); got != want {
		t.Fatalf("leaf:\n got %s\nwant %s", got, want)
	}
	e.CaseID, e.Region = 0, ""
	want = `["daiban.ledger/v1","2025-03-01T00:30:00.123456Z","li\"si",null,"","case.review",{"note":"材料齐全","result":"accept"}]`
	if got := string(e.Leaf()); got != want {
		t.Fatalf("leaf without case:\n got %s\nwant %s", got, want)
	}
	if e.LeafHash() != tlog.RecordHash([]byte(want)) {
		t.Fatal("LeafHash is not tlog.RecordHash of the leaf")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	s1, err := ledger.LoadOrCreateKey(dir, origin)
	if err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, ledger.KeyFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %o, want %o", path, fi.Mode().Perm(), mode)
		}
	}
	pub, err := ledger.ReadVerifierKey(filepath.Join(dir, ledger.VerifierKeyFile))
	if err != nil || pub != s1.VerifierKey() {
		t.Fatalf("public key file %q, %v; want %q", pub, err, s1.VerifierKey())
	}
	if strings.Contains(pub, "PRIVATE") {
		t.Fatal("private key in the public key file")
	}
	s2, err := ledger.LoadOrCreateKey(dir, origin)
	if err != nil || s2.VerifierKey() != s1.VerifierKey() {
		t.Fatalf("reloaded key differs: %v", err)
	}
	if _, err := ledger.LoadOrCreateKey(dir, "other.origin"); err == nil {
		t.Fatal("key of another origin accepted")
	}
	if err := os.Chmod(filepath.Join(dir, ledger.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.LoadOrCreateKey(dir, origin); err == nil {
		t.Fatal("world-readable private key accepted")
	}

	// The signed note is a C2SP checkpoint that the public key verifies.
	root := tlog.RecordHash([]byte("x"))
	msg, err := s1.Sign(7, root)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(msg), note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if want := origin + "\n7\n" + root.String() + "\n"; n.Text != want {
		t.Fatalf("checkpoint body %q, want %q", n.Text, want)
	}
	cp, err := ledger.OpenCheckpoint([]byte(msg), v)
	if err != nil || cp.Size != 7 || cp.Root != root {
		t.Fatalf("OpenCheckpoint = %+v, %v", cp, err)
	}
	other, err := ledger.LoadOrCreateKey(t.TempDir(), origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OpenCheckpoint([]byte(msg), other.Verifier()); err == nil {
		t.Fatal("checkpoint verified with another key")
	}
}

func isNotFound(err error) bool {
	var e *daiban.Error
	return errors.As(err, &e) && e.Code == daiban.ENOTFOUND
}
