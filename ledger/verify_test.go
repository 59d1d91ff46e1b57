package ledger_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban/ledger"
)

// buildLedger makes a ledger of 25 entries with checkpoints at sizes 10,
// 15, 20 and 25, and returns the ids by leaf index and each checkpoint's
// note, as a supervisor would have kept them.
func buildLedger(t *testing.T) (*env, []int64, map[int64][]byte) {
	t.Helper()
	e := newEnv(t)
	var ids []int64
	kept := map[int64][]byte{}
	for i, n := range []int{10, 5, 5, 5} {
		ids = append(ids, e.appendEntries(t, n, int64(i+1), "370323001")...)
		e.integrateAll(t)
		cp, err := e.log.Checkpoint(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		kept[cp.Size] = []byte(cp.Note)
	}
	return e, ids, kept
}

// tamper runs statements as the owner with the append-only triggers off,
// which is what an attacker holding the owner's rights can do.
func (e *env) tamper(t *testing.T, stmts ...string) {
	t.Helper()
	for _, tbl := range []string{"ledger_entries", "ledger_leaves", "ledger_hashes", "ledger_checkpoints"} {
		e.exec(t, "ALTER TABLE "+tbl+" DISABLE TRIGGER USER")
	}
	for _, s := range stmts {
		e.exec(t, s)
	}
	for _, tbl := range []string{"ledger_entries", "ledger_leaves", "ledger_hashes", "ledger_checkpoints"} {
		e.exec(t, "ALTER TABLE "+tbl+" ENABLE TRIGGER USER")
	}
}

func (e *env) verify(t *testing.T, kept []byte) (ledger.Result, error) {
	t.Helper()
	return ledger.Verify(context.Background(), e.app, e.sig.VerifierKey(), kept, nil)
}

// wantBad checks that verification fails naming leaf index want.
func wantBad(t *testing.T, err error, want int64) {
	t.Helper()
	var ve *ledger.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("verify: %v, want a VerifyError at %d", err, want)
	}
	if ve.Index != want {
		t.Fatalf("verify names index %d (%s), want %d", ve.Index, ve.Reason, want)
	}
	t.Logf("%v", err)
}

func TestVerifyClean(t *testing.T) {
	e, _, kept := buildLedger(t)
	var calls, lastDone, lastTotal int64
	res, err := ledger.Verify(context.Background(), e.app, e.sig.VerifierKey(), kept[20], func(done, total int64) {
		calls++
		lastDone, lastTotal = done, total
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 25 || res.Checkpoint.Size != 25 || res.Root != res.Checkpoint.Root || res.Kept == nil || res.Kept.Size != 20 {
		t.Fatalf("result %+v", res)
	}
	if calls == 0 || lastDone != 25 || lastTotal != 25 {
		t.Fatalf("progress: %d calls, last %d/%d", calls, lastDone, lastTotal)
	}
	for _, k := range kept {
		if _, err := e.verify(t, k); err != nil {
			t.Fatalf("kept checkpoint: %v", err)
		}
	}
	// A kept checkpoint signed by another key is an input error, not a pass.
	other, err := ledger.LoadOrCreateKey(t.TempDir(), origin)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Sign(20, res.Root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.verify(t, []byte(forged)); err == nil {
		t.Fatal("a checkpoint of another key was accepted")
	}
}

func TestVerifyDetectsChangedPayload(t *testing.T) {
	e, ids, _ := buildLedger(t)
	e.tamper(t, `UPDATE ledger_entries SET payload = convert_to('{"note":"改过的内容"}', 'UTF8') WHERE id = `+itoa(ids[12]))
	_, err := e.verify(t, nil)
	wantBad(t, err, 12)
}

func TestVerifyDetectsChangedActor(t *testing.T) {
	e, ids, _ := buildLedger(t)
	e.tamper(t, `UPDATE ledger_entries SET actor = 'mallory', at = at + interval '1 microsecond' WHERE id = `+itoa(ids[3]))
	_, err := e.verify(t, nil)
	wantBad(t, err, 3)
}

func TestVerifyDetectsDeletedEntry(t *testing.T) {
	t.Run("gap", func(t *testing.T) {
		e, ids, _ := buildLedger(t)
		e.tamper(t,
			`DELETE FROM ledger_leaves WHERE leaf_index = 7`,
			`DELETE FROM ledger_entries WHERE id = `+itoa(ids[7]))
		_, err := e.verify(t, nil)
		wantBad(t, err, 7)
	})
	t.Run("renumbered", func(t *testing.T) {
		e, ids, _ := buildLedger(t)
		e.tamper(t,
			`DELETE FROM ledger_leaves WHERE leaf_index = 7`,
			`DELETE FROM ledger_entries WHERE id = `+itoa(ids[7]),
			`UPDATE ledger_leaves SET leaf_index = leaf_index + 1000 WHERE leaf_index > 7`,
			`UPDATE ledger_leaves SET leaf_index = leaf_index - 1001 WHERE leaf_index >= 1000`)
		_, err := e.verify(t, nil)
		wantBad(t, err, 7)
	})
}

// The newest entries are deleted together with the checkpoints covering
// them and their hashes: the database is consistent on its own, but not
// with the checkpoint the supervisor kept.
func TestVerifyDetectsDeletedNewest(t *testing.T) {
	e, ids, kept := buildLedger(t)
	e.tamper(t,
		`DELETE FROM ledger_leaves WHERE leaf_index >= 15`,
		`DELETE FROM ledger_entries WHERE id >= `+itoa(ids[15]),
		`DELETE FROM ledger_hashes WHERE storage_index >= `+itoa(tlog.StoredHashCount(15)),
		`DELETE FROM ledger_checkpoints WHERE size > 15`)
	res, err := e.verify(t, nil)
	if err != nil || res.Size != 15 {
		t.Fatalf("without a kept checkpoint: %+v, %v", res, err)
	}
	if _, err := e.verify(t, kept[10]); err != nil {
		t.Fatalf("an older kept checkpoint still holds: %v", err)
	}
	_, err = e.verify(t, kept[20])
	wantBad(t, err, 15)
}

func TestVerifyDetectsSwappedEntries(t *testing.T) {
	e, _, _ := buildLedger(t)
	e.tamper(t,
		`UPDATE ledger_leaves SET leaf_index = 1000 WHERE leaf_index = 3`,
		`UPDATE ledger_leaves SET leaf_index = 3 WHERE leaf_index = 17`,
		`UPDATE ledger_leaves SET leaf_index = 17 WHERE leaf_index = 1000`)
	_, err := e.verify(t, nil)
	wantBad(t, err, 3)
}

func TestVerifyDetectsInsertedEntry(t *testing.T) {
	// Appended behind the integrator's back: the app role may insert rows,
	// but cannot sign a checkpoint covering them.
	t.Run("beyond checkpoint", func(t *testing.T) {
		e, _, _ := buildLedger(t)
		id := e.appendEntries(t, 1, 9, "370323001")[0]
		if _, err := e.app.Exec(context.Background(), `INSERT INTO ledger_leaves (leaf_index, entry_id) VALUES (25, $1)`, id); err != nil {
			t.Fatal(err)
		}
		_, err := e.verify(t, nil)
		wantBad(t, err, 25)
	})
	t.Run("beyond checkpoint with forged checkpoint", func(t *testing.T) {
		e, _, _ := buildLedger(t)
		id := e.appendEntries(t, 1, 9, "370323001")[0]
		other, err := ledger.LoadOrCreateKey(t.TempDir(), origin)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := other.Sign(26, tlog.Hash{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Exec(context.Background(), `INSERT INTO ledger_leaves (leaf_index, entry_id) VALUES (25, $1)`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Exec(context.Background(), `INSERT INTO ledger_checkpoints (size, root, note, horizon) VALUES (26, $1, $2, '0')`, make([]byte, 32), forged); err != nil {
			t.Fatal(err)
		}
		_, err = e.verify(t, nil)
		wantBad(t, err, 25)
	})
	t.Run("middle", func(t *testing.T) {
		e, _, _ := buildLedger(t)
		id := e.appendEntries(t, 1, 9, "370323001")[0]
		e.tamper(t,
			`UPDATE ledger_leaves SET leaf_index = leaf_index + 1000 WHERE leaf_index >= 5`,
			`UPDATE ledger_leaves SET leaf_index = leaf_index - 999 WHERE leaf_index >= 1000`,
			`INSERT INTO ledger_leaves (leaf_index, entry_id) VALUES (5, `+itoa(id)+`)`)
		_, err := e.verify(t, nil)
		wantBad(t, err, 5)
	})
}

// An attacker who also rewrites the stored leaf hash cannot hide the change
// from the signed roots; the error then names the first leaf no checkpoint
// proves.
func TestVerifyDetectsRewrittenHashes(t *testing.T) {
	e, ids, _ := buildLedger(t)
	e.tamper(t, `UPDATE ledger_entries SET payload = convert_to('{"note":"改过的内容"}', 'UTF8') WHERE id = `+itoa(ids[12]))
	en, err := e.log.EntryByIndex(context.Background(), 12)
	if err != nil {
		t.Fatal(err)
	}
	h := en.LeafHash()
	e.tamper(t, `UPDATE ledger_hashes SET hash = '\x`+hex.EncodeToString(h[:])+`' WHERE storage_index = `+itoa(tlog.StoredHashIndex(0, 12)))
	_, err = e.verify(t, nil)
	wantBad(t, err, 10)
}

func TestVerifyCommand(t *testing.T) {
	e, ids, kept := buildLedger(t)
	file := filepath.Join(t.TempDir(), "checkpoint.txt")
	if err := os.WriteFile(file, kept[20], 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ledger.VerifyCommand(context.Background(), e.app, e.sig.VerifierKey(), file, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "台账校验通过：共 25 条记录") || !strings.Contains(out.String(), "保存的检查点（20 条）") {
		t.Fatalf("output: %s", out.String())
	}
	e.tamper(t, `UPDATE ledger_entries SET payload = convert_to('{}', 'UTF8') WHERE id = `+itoa(ids[18]))
	out.Reset()
	err := ledger.VerifyCommand(context.Background(), e.app, e.sig.VerifierKey(), file, &out)
	var ve *ledger.VerifyError
	if !errors.As(err, &ve) || ve.Index != 18 || !strings.Contains(out.String(), "序号 18") {
		t.Fatalf("tampered: %v\n%s", err, out.String())
	}
	t.Log(out.String())
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
