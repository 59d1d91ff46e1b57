package ledger_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban/ledger"
)

// An entry appended in a transaction that rolls back leaves nothing behind.
func TestAppendRollback(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tx, err := e.app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Append(ctx, tx, ledger.Meta{Actor: "zhangsan", CaseID: 1, Region: "370323", Type: "case.created"}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.owner.QueryRow(ctx, "SELECT count(*) FROM ledger_entries").Scan(&n); err != nil || n != 0 {
		t.Fatalf("entries after rollback: %d, %v", n, err)
	}
	if got := e.integrateAll(t); got != 0 {
		t.Fatalf("integrated %d entries of a rolled-back transaction", got)
	}
	if _, err := e.log.Checkpoint(ctx); !isNotFound(err) {
		t.Fatalf("checkpoint of an empty ledger: %v", err)
	}
	res, err := ledger.Verify(ctx, e.app, e.sig.VerifierKey(), nil, nil)
	if err != nil || res.Size != 0 {
		t.Fatalf("empty ledger: %+v, %v", res, err)
	}
}

func TestAppendValidates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, m := range []ledger.Meta{
		{Actor: "", Type: "case.created"},
		{Actor: "a", Type: ""},
		{Actor: "a", Type: "Bad Type"},
		{Actor: "a", Type: "x", Region: "37"},
		{Actor: "a", Type: "x", CaseID: -1},
	} {
		if _, err := ledger.Append(ctx, e.app, m, nil); err == nil {
			t.Errorf("Append(%+v) accepted", m)
		}
	}
	if _, err := ledger.Append(ctx, e.app, ledger.Meta{Actor: "a", Type: "x"}, map[string]string{"id_number": "11010519491231002X"}); err == nil {
		t.Error("a full ID number was appended")
	}
}

// Committed entries are integrated in id order with consecutive indexes;
// each integration writes a checkpoint the public key verifies, whose root
// is the tree of the entries, and inclusion proofs check out.
func TestIntegrate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.log.SetBatchSize(7)
	ids := e.appendEntries(t, 10, 5, "370323001")
	ids = append(ids, e.appendEntries(t, 10, 0, "")...)

	var sizes []int64
	for {
		n, err := e.log.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		cp, err := e.log.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, cp.Size)
	}
	if want := []int64{7, 14, 20}; !equal(sizes, want) {
		t.Fatalf("checkpoint sizes %v, want %v", sizes, want)
	}

	var leaves []tlog.Hash
	for i, id := range ids {
		en, err := e.log.EntryByIndex(ctx, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if en.ID != id || en.Index != int64(i) {
			t.Fatalf("leaf %d is entry %d, want %d", i, en.ID, id)
		}
		byID, err := e.log.EntryByID(ctx, id)
		if err != nil || byID.Index != int64(i) || string(byID.Payload) != string(en.Payload) {
			t.Fatalf("EntryByID(%d) = %+v, %v", id, byID, err)
		}
		leaves = append(leaves, en.LeafHash())
	}

	cp, err := e.log.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(e.sig.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(cp.Note), note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	if !strings.HasPrefix(n.Text, origin+"\n20\n") {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	if roots := ledger.FrontierRoots(leaves); roots[len(roots)-1] != cp.Root {
		t.Fatal("checkpoint root is not the tree of the entries")
	}

	for size := int64(1); size <= cp.Size; size++ {
		for i := int64(0); i < size; i++ {
			inc, err := e.log.Inclusion(ctx, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if inc.LeafHash != leaves[i] {
				t.Fatalf("stored leaf hash %d differs", i)
			}
			if err := tlog.CheckRecord(inc.Proof, size, inc.Root, i, leaves[i]); err != nil {
				t.Fatalf("proof of %d in %d: %v", i, size, err)
			}
		}
	}
	proof, err := e.log.InclusionProof(ctx, 13, 20)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(proof, 20, cp.Root, 13, leaves[13]); err != nil {
		t.Fatalf("proof against the checkpoint: %v", err)
	}
	if err := tlog.CheckRecord(proof, 20, cp.Root, 13, leaves[12]); err == nil {
		t.Fatal("proof verified a wrong leaf")
	}
	if _, err := e.log.InclusionProof(ctx, 3, 21); err == nil {
		t.Fatal("proof beyond the checkpoint")
	}

	items, err := e.log.CaseEntries(ctx, 5)
	if err != nil || len(items) != 10 || items[0].Index != 0 || items[0].CaseID != 5 || items[0].Region != "370323001" {
		t.Fatalf("CaseEntries = %d items, %v", len(items), err)
	}
}

// A transaction that got a lower id but commits after later entries were
// integrated is still found (the integrator's horizon never passes an open
// transaction) and gets the next index.
func TestIntegrateLateCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	slow, err := e.app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	lateID, err := ledger.Append(ctx, slow, ledger.Meta{Actor: "lisi", Type: "case.created"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := e.appendEntries(t, 3, 0, "")
	if got := e.integrateAll(t); got != 3 {
		t.Fatalf("integrated %d, want 3", got)
	}
	for range 3 { // empty passes must not move the horizon past the open transaction
		if n, err := e.log.Integrate(ctx); err != nil || n != 0 {
			t.Fatalf("empty pass: %d, %v", n, err)
		}
	}
	// A fresh Log (another instance) resumes from the checkpoint's horizon.
	other := ledger.New(appPool(t, e.url), e.sig)
	if n, err := other.Integrate(ctx); err != nil || n != 0 {
		t.Fatalf("other instance: %d, %v", n, err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := other.Integrate(ctx); err != nil || n != 1 {
		t.Fatalf("late entry: integrated %d, %v", n, err)
	}
	if lateID > ids[0] {
		t.Fatalf("test setup: late id %d not below %d", lateID, ids[0])
	}
	en, err := e.log.EntryByID(ctx, lateID)
	if err != nil || en.Index != 3 {
		t.Fatalf("late entry at index %d, %v", en.Index, err)
	}
	if _, err := ledger.Verify(ctx, e.app, e.sig.VerifierKey(), nil, nil); err != nil {
		t.Fatal(err)
	}
}

// Integrators on two pools running together with writers never assign an
// index twice: the leaves are exactly 0..n-1 over distinct entries.
func TestIntegrateConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := []*ledger.Log{e.log, ledger.New(appPool(t, e.url), e.sig)}
	for _, l := range logs {
		l.SetBatchSize(5)
	}
	var integrators sync.WaitGroup
	for _, l := range logs {
		for range 2 { // two goroutines per instance as well
			integrators.Add(1)
			go func() {
				defer integrators.Done()
				for ctx.Err() == nil {
					if _, err := l.Integrate(ctx); err != nil && ctx.Err() == nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	const writers, perWriter = 4, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				tx, err := e.app.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := ledger.Append(ctx, tx, ledger.Meta{Actor: "w", CaseID: int64(w + 1), Region: "370323", Type: "case.progress"}, map[string]int{"i": i}); err != nil {
					t.Error(err)
				}
				if i%3 == 0 {
					time.Sleep(time.Millisecond) // keep some transactions open across passes
				}
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pending int
		if err := e.owner.QueryRow(context.Background(), `SELECT count(*) FROM ledger_entries e
			WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves l WHERE l.entry_id = e.id)`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries never integrated", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	integrators.Wait()

	var n, minIdx, maxIdx, distinct int64
	if err := e.owner.QueryRow(context.Background(), `SELECT count(*), min(leaf_index), max(leaf_index), count(DISTINCT entry_id)
		FROM ledger_leaves`).Scan(&n, &minIdx, &maxIdx, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != writers*perWriter || minIdx != 0 || maxIdx != n-1 || distinct != n {
		t.Fatalf("leaves: count %d, min %d, max %d, distinct entries %d", n, minIdx, maxIdx, distinct)
	}
	res, err := ledger.Verify(context.Background(), e.app, e.sig.VerifierKey(), nil, nil)
	if err != nil || res.Size != n || res.Checkpoint.Size != n {
		t.Fatalf("verify: %+v, %v", res, err)
	}
}

// Run integrates in the background and promptly after Notify.
func TestRun(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.log.Run(ctx, time.Hour); close(done) }()
	id := e.appendEntries(t, 1, 0, "")[0]
	e.log.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for {
		en, err := e.log.EntryByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if en.Index == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Notify did not wake the integrator")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// The server's role can read and append but never change or delete ledger
// rows; the trigger refuses even the owner.
func TestAppRoleCannotModify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.appendEntries(t, 3, 0, "")
	e.integrateAll(t)
	stmts := []string{
		"UPDATE ledger_entries SET actor = 'mallory'",
		"DELETE FROM ledger_entries",
		"UPDATE ledger_leaves SET entry_id = entry_id",
		"DELETE FROM ledger_leaves",
		"UPDATE ledger_hashes SET hash = hash",
		"DELETE FROM ledger_hashes",
		"UPDATE ledger_checkpoints SET note = ''",
		"DELETE FROM ledger_checkpoints",
		"TRUNCATE ledger_entries CASCADE",
	}
	for _, s := range stmts {
		_, err := e.app.Exec(ctx, s)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "permission denied") {
			t.Errorf("app role: %s: %v, want permission denied", s, err)
		}
		_, err = e.owner.Exec(ctx, s)
		if !errors.As(err, &pgErr) || !strings.Contains(pgErr.Message, "append-only") {
			t.Errorf("owner: %s: %v, want the append-only trigger", s, err)
		}
	}
	if _, err := ledger.Verify(ctx, e.app, e.sig.VerifierKey(), nil, nil); err != nil {
		t.Fatal(err)
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
