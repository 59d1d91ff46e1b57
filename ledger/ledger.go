// Package ledger is the ledger (台账): an append-only RFC 6962 Merkle log of
// every event of the service, kept in PostgreSQL and built with
// golang.org/x/mod/sumdb/tlog.
//
// Writers call Append inside their business transaction: the entry is
// committed with the change it records, or not at all. One integrator at a
// time (any server instance; a PostgreSQL advisory lock decides) takes the
// committed entries in id order, gives them consecutive leaf indexes, stores
// the tree hashes and signs a checkpoint (C2SP tlog-checkpoint in an Ed25519
// signed note), all in one transaction. Verify recomputes the whole tree from
// the entries and checks it against the signed checkpoints, including one a
// supervisor kept outside the database.
//
// The leaf that is hashed for an entry is documented at LeafTag; the payload
// is canonical JSON (see Canonical) and is hashed exactly as stored.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/sql/dbsqlc"
)

var queries = dbsqlc.New()

// Entry is one ledger event.
type Entry struct {
	// Index is the entry's leaf index, -1 until the integrator has taken it.
	Index   int64           `json:"index"`
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	CaseID  int64           `json:"case_id,omitempty"` // 0: not about a case
	Region  string          `json:"region"`            // the case's region, "" without a case
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"` // the stored canonical JSON bytes
	// Readable is the payload with its commitments opened (Reveal), for
	// staff; set by CaseEntries when the payload holds commitments.
	Readable json.RawMessage `json:"readable,omitempty"`
}

// Leaf returns the entry's leaf, the bytes whose leaf hash is in the tree.
func (e Entry) Leaf() []byte {
	return appendLeaf(nil, e.At.UnixMicro(), e.Actor, e.CaseID, e.CaseID != 0, e.Region, e.Type, e.Payload)
}

// LeafHash returns the RFC 6962 leaf hash of the entry (tlog.RecordHash of
// its leaf).
func (e Entry) LeafHash() tlog.Hash { return tlog.RecordHash(e.Leaf()) }

// Meta describes an entry being appended.
type Meta struct {
	Actor  string // username of the user, or "system:<job>" for jobs
	CaseID int64  // the case the event is about; 0 for none
	Region string // the case's region code; "" for events without a case
	Type   string // event type, e.g. "case.review", "document.sealed"
}

var (
	typePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*([.:-][a-z0-9_]+)*$`)
	regionPattern = regexp.MustCompile(`^([0-9]{6}([0-9]{3}([0-9]{3})?)?)?$`)
)

// Append inserts a ledger entry through db, which should be the caller's
// business transaction (pgx.Tx) so that the entry commits or rolls back with
// the change it records; a pool works for events outside any transaction.
// It returns the entry's id; the leaf index comes later from the integrator
// (call Log.Notify after committing to have it integrated promptly).
//
// payload is stored as canonical JSON (see Canonical); nil stores {}. It
// must never contain a full personal ID number or phone number: callers
// mask them first (3703**********1234), because supervisors, exports and
// public proofs all see the ledger. Values that are such numbers as a whole
// are refused.
func Append(ctx context.Context, db dbsqlc.DBTX, m Meta, payload any) (_ int64, err error) {
	defer daiban.Wrap(&err, "ledger: append %s", m.Type)
	p, err := prepare(m, payload)
	if err != nil {
		return 0, err
	}
	id, err := queries.LedgerAppend(ctx, db, dbsqlc.LedgerAppendParams(p))
	if err != nil {
		return 0, fmt.Errorf("ledger: append: %w", err)
	}
	return id, nil
}

// Record is Append for callers that need no id back: it issues a plain
// statement, so a caller may pipeline it with its other writes (one round
// trip for the whole action).
func Record(ctx context.Context, db dbsqlc.DBTX, m Meta, payload any) error {
	p, err := prepare(m, payload)
	if err != nil {
		return err
	}
	if err := queries.LedgerRecord(ctx, db, dbsqlc.LedgerRecordParams(p)); err != nil {
		return fmt.Errorf("ledger: record: %w", err)
	}
	return nil
}

// Encode validates an entry and returns its canonical payload, for a
// writer that inserts the entry with a statement of its own (a case action
// writes its update and its entry in one statement). The entry's rules are
// those of Append.
func Encode(m Meta, payload any) ([]byte, error) {
	p, err := prepare(m, payload)
	return p.Payload, err
}

// prepare validates an entry and encodes its payload canonically.
func prepare(m Meta, payload any) (dbsqlc.LedgerRecordParams, error) {
	if m.Actor == "" {
		return dbsqlc.LedgerRecordParams{}, daiban.Invalid("actor", "台账记录缺少操作人")
	}
	if !typePattern.MatchString(m.Type) {
		return dbsqlc.LedgerRecordParams{}, daiban.Invalid("type", "台账记录类型 %q 格式错误", m.Type)
	}
	if m.CaseID < 0 {
		return dbsqlc.LedgerRecordParams{}, daiban.Invalid("case_id", "案件编号 %d 无效", m.CaseID)
	}
	if !regionPattern.MatchString(m.Region) {
		return dbsqlc.LedgerRecordParams{}, daiban.Invalid("region", "地区代码 %q 格式错误", m.Region)
	}
	b, err := Canonical(payload)
	if err != nil {
		return dbsqlc.LedgerRecordParams{}, err
	}
	var caseID *int64
	if m.CaseID != 0 {
		caseID = &m.CaseID
	}
	return dbsqlc.LedgerRecordParams{Actor: m.Actor, CaseID: caseID, Region: m.Region, Type: m.Type, Payload: b}, nil
}

// DefaultBatch is how many entries one Integrate call takes at most.
const DefaultBatch = 1000

// lockKey is the advisory lock of the integrator ("ledger" in ASCII).
const lockKey int64 = 0x6c6564676572

// Log is the integrator and the read side of the ledger.
type Log struct {
	pool   *pgxpool.Pool
	signer *Signer
	batch  int
	logger *slog.Logger
	wake   chan struct{}
	names  func(typ string) string // Chinese names of entry types, for the export

	// mu serialises this instance's integrations; st is its resume state.
	mu sync.Mutex
	st integratorState
}

type integratorState struct {
	horizon uint64 // every entry with xid below it is integrated
	after   int64  // skip hint: resume the scan after this id (0 = full scan)
}

// New returns the ledger on pool, signing checkpoints with signer (which
// may be nil for a read-only Log: Integrate then fails).
func New(pool *pgxpool.Pool, signer *Signer) *Log {
	return &Log{pool: pool, signer: signer, batch: DefaultBatch, logger: slog.Default(), wake: make(chan struct{}, 1)}
}

// SetBatchSize sets how many entries one Integrate call takes at most.
func (l *Log) SetBatchSize(n int) {
	if n > 0 {
		l.batch = n
	}
}

// SetLogger sets where Run reports integration errors.
func (l *Log) SetLogger(logger *slog.Logger) {
	if logger != nil {
		l.logger = logger
	}
}

// Notify asks Run to integrate now rather than at the next tick. Writers may
// call it after committing an entry; it never blocks.
func (l *Log) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run integrates every interval, and at once after Notify, until ctx ends.
// A full batch is followed immediately by the next one. Entries appended on
// other instances are picked up at the next tick.
func (l *Log) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := l.Integrate(ctx)
			if err != nil {
				if ctx.Err() == nil {
					l.logger.Error("ledger integration failed", "err", err.Error())
				}
				break
			}
			if n < l.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}

// Integrate takes up to one batch of entries that are not yet in the tree,
// in id order, assigns them the next leaf indexes, stores their tlog hashes
// and writes a new signed checkpoint, all in one transaction. Only one
// caller in the whole database integrates at a time (a transaction-scoped
// advisory lock, and a mutex within the process); any other returns 0 at
// once. It returns how many entries it integrated.
//
// New entries are found without scanning the whole table: each entry
// records its transaction id, and every entry of a transaction older than
// the oldest one running at the previous complete pass is known to be
// integrated (the checkpoint keeps that horizon, so any instance resumes
// from it). An entry whose transaction commits late, after entries with
// higher ids, is still found and gets the next free index.
func (l *Log) Integrate(ctx context.Context) (_ int, err error) {
	defer daiban.Wrap(&err, "ledger: integrate")
	if l.signer == nil {
		return 0, errors.New("ledger: integrate needs a signer")
	}
	if !l.mu.TryLock() {
		return 0, nil
	}
	defer l.mu.Unlock()
	n, next, err := l.integrate(ctx, l.st)
	if err == nil {
		l.st = next
	}
	return n, err
}

func (l *Log) integrate(ctx context.Context, st integratorState) (int, integratorState, error) {
	// Read committed, whatever the server's default: every statement after
	// the lock must see what the previous lock holder committed.
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return 0, st, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	locked, err := queries.LedgerTryLock(ctx, tx, lockKey)
	if err != nil || !locked {
		return 0, st, err
	}
	// The horizon comes from a snapshot taken before the candidate query:
	// every transaction below it had ended, so the candidate query (a later
	// snapshot) sees all of their entries.
	xmin, err := snapshotXmin(ctx, tx)
	if err != nil {
		return 0, st, err
	}
	size, horizon, err := latestCheckpoint(ctx, tx)
	if err != nil {
		return 0, st, err
	}
	st.horizon = max(st.horizon, horizon)

	rows, err := queries.LedgerUnintegrated(ctx, tx, strconv.FormatUint(st.horizon, 10), st.after, int32(l.batch))
	if err != nil {
		return 0, st, err
	}
	next := l.nextState(st, rows, xmin)
	if len(rows) == 0 {
		return 0, next, tx.Commit(ctx)
	}

	newSize, root, err := storeBatch(ctx, tx, size, rows)
	if err != nil {
		return 0, st, err
	}
	signed, err := l.signer.Sign(newSize, root)
	if err != nil {
		return 0, st, err
	}
	// The persisted horizon must hold for the state of the database this
	// transaction commits: next.horizon does.
	if err := queries.LedgerCheckpointInsert(ctx, tx, dbsqlc.LedgerCheckpointInsertParams{
		Size: newSize, Root: root[:], Note: signed, Horizon: strconv.FormatUint(next.horizon, 10),
	}); err != nil {
		return 0, st, fmt.Errorf("ledger: storing checkpoint: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, st, err
	}
	return len(rows), next, nil
}

// snapshotXmin returns the oldest transaction still running in tx's
// snapshot.
func snapshotXmin(ctx context.Context, tx pgx.Tx) (uint64, error) {
	xminText, err := queries.LedgerSnapshotXmin(ctx, tx)
	if err != nil {
		return 0, err
	}
	xmin, err := strconv.ParseUint(xminText, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ledger: snapshot xmin %q: %w", xminText, err)
	}
	return xmin, nil
}

// latestCheckpoint returns the size of the tree and the horizon the latest
// checkpoint recorded; both are 0 while there is none.
func latestCheckpoint(ctx context.Context, tx pgx.Tx) (size int64, horizon uint64, err error) {
	latest, err := queries.LedgerLatestCheckpoint(ctx, tx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, 0, nil
	case err != nil:
		return 0, 0, err
	}
	h, err := strconv.ParseUint(latest.Horizon, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: checkpoint horizon %q: %w", latest.Horizon, err)
	}
	return latest.Size, h, nil
}

// nextState is what this pass proves once committed: a pass that scanned
// from the horizon (after == 0) and found less than a batch has taken
// every entry of every transaction below xmin.
func (l *Log) nextState(st integratorState, rows []dbsqlc.LedgerUnintegratedRow, xmin uint64) integratorState {
	next := st
	switch {
	case len(rows) == l.batch:
		next.after = rows[len(rows)-1].ID
	case st.after == 0:
		next.horizon = max(st.horizon, xmin)
	default:
		next.after = 0
	}
	return next
}

// storeBatch appends rows, in order, to the tree of size leaves: it stores
// their leaf indexes and the tlog hashes they add, and returns the new size
// and root.
func storeBatch(ctx context.Context, tx pgx.Tx, size int64, rows []dbsqlc.LedgerUnintegratedRow) (int64, tlog.Hash, error) {
	r, err := hashBatch(ctx, tx, size, rows)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	newSize := size + int64(len(rows))
	root, err := tlog.TreeHash(newSize, r)
	if err != nil {
		return 0, tlog.Hash{}, err
	}
	leafIdx := make([]int64, len(rows))
	entryIDs := make([]int64, len(rows))
	for i, row := range rows {
		leafIdx[i] = size + int64(i)
		entryIDs[i] = row.ID
	}
	storage := make([]int64, len(r.new))
	hashBytes := make([][]byte, len(r.new))
	for i := range r.new {
		storage[i] = r.base + int64(i)
		hashBytes[i] = r.new[i][:]
	}
	if err := queries.LedgerLeavesInsert(ctx, tx, leafIdx, entryIDs); err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("ledger: storing leaves: %w", err)
	}
	if err := queries.LedgerHashesInsert(ctx, tx, storage, hashBytes); err != nil {
		return 0, tlog.Hash{}, fmt.Errorf("ledger: storing hashes: %w", err)
	}
	return newSize, root, nil
}

// hashBatch computes the tlog hashes rows add to the tree of size leaves,
// from the stored frontier of the old tree plus the batch's own.
func hashBatch(ctx context.Context, tx pgx.Tx, size int64, rows []dbsqlc.LedgerUnintegratedRow) (*batchHashReader, error) {
	old, err := dbHashReader{ctx, tx}.ReadHashes(frontierIndexes(size))
	if err != nil {
		return nil, err
	}
	r := &batchHashReader{old: map[int64]tlog.Hash{}, base: tlog.StoredHashCount(size), db: dbHashReader{ctx, tx}}
	for i, x := range frontierIndexes(size) {
		r.old[x] = old[i]
	}
	var buf []byte
	for i, row := range rows {
		var caseID int64
		if row.CaseID != nil {
			caseID = *row.CaseID
		}
		buf = appendLeaf(buf[:0], row.At.UnixMicro(), row.Actor, caseID, row.CaseID != nil, row.Region, row.Type, row.Payload)
		hashes, err := tlog.StoredHashes(size+int64(i), buf, r)
		if err != nil {
			return nil, err
		}
		r.new = append(r.new, hashes...)
	}
	return r, nil
}

// Checkpoint returns the latest signed checkpoint; not_found while the
// ledger is empty.
func (l *Log) Checkpoint(ctx context.Context) (_ Checkpoint, err error) {
	defer daiban.Wrap(&err, "ledger: checkpoint")
	row, err := queries.LedgerLatestCheckpoint(ctx, l.pool)
	if err != nil {
		return Checkpoint{}, daiban.NoRows(err, "台账尚无检查点")
	}
	cp := Checkpoint{Size: row.Size, Note: row.Note, At: row.At.UTC()}
	copy(cp.Root[:], row.Root)
	return cp, nil
}

// Inclusion is a proof that one entry is in the tree of a given size.
type Inclusion struct {
	Index    int64            `json:"index"`
	Size     int64            `json:"size"`
	LeafHash tlog.Hash        `json:"leaf_hash"`
	Proof    tlog.RecordProof `json:"proof"`
	Root     tlog.Hash        `json:"root"`
}

// InclusionProof returns the RFC 6962 inclusion proof of leaf index in the
// tree of size leaves (tlog.CheckRecord verifies it). size may be at most
// the latest checkpoint's size.
func (l *Log) InclusionProof(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	inc, err := l.Inclusion(ctx, index, size)
	return inc.Proof, err
}

// Inclusion returns the inclusion proof of leaf index in the tree of size
// leaves together with the stored leaf hash and the tree's root.
func (l *Log) Inclusion(ctx context.Context, index, size int64) (_ Inclusion, err error) {
	defer daiban.Wrap(&err, "ledger: inclusion proof of %d in %d", index, size)
	if size <= 0 {
		return Inclusion{}, daiban.Invalid("size", "size 必须是正整数")
	}
	if index < 0 {
		return Inclusion{}, daiban.Invalid("index", "index 不能为负数")
	}
	if index >= size {
		return Inclusion{}, daiban.Invalid("index", "index 必须小于 size（%d）", size)
	}
	cp, err := l.Checkpoint(ctx)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return Inclusion{}, daiban.Invalid("size", "台账尚无检查点")
	} else if err != nil {
		return Inclusion{}, err
	}
	if size > cp.Size {
		return Inclusion{}, daiban.Invalid("size", "size 不能大于最新检查点的记录数 %d", cp.Size)
	}
	r := dbHashReader{ctx, l.pool}
	proof, err := tlog.ProveRecord(size, index, r)
	if err != nil {
		return Inclusion{}, err
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return Inclusion{}, err
	}
	leaf, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return Inclusion{}, err
	}
	if proof == nil {
		proof = tlog.RecordProof{}
	}
	return Inclusion{Index: index, Size: size, LeafHash: leaf[0], Proof: proof, Root: root}, nil
}

// CaseEntries returns a case's entries in the order they were appended,
// integrated or not: Payload is the published bytes (the leaf hash is
// computed from them), Readable the same with personal values put back in
// place of their commitments (Reveal), for staff.
func (l *Log) CaseEntries(ctx context.Context, caseID int64) (_ []Entry, err error) {
	defer daiban.Wrap(&err, "ledger: entries of case %d", caseID)
	rows, err := queries.LedgerCaseEntries(ctx, l.pool, &caseID)
	if err != nil {
		return nil, err
	}
	open, err := Openings(ctx, l.pool, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(rows))
	for i, r := range rows {
		out[i] = entry(r.LeafIndex, r.ID, r.At, r.Actor, r.CaseID, r.Region, r.Type, r.Payload)
		if rd := Reveal(r.Payload, open); len(rd) != len(r.Payload) || string(rd) != string(r.Payload) {
			out[i].Readable = rd
		}
	}
	return out, nil
}

// EntryByIndex returns the entry at a leaf index.
func (l *Log) EntryByIndex(ctx context.Context, index int64) (_ Entry, err error) {
	defer daiban.Wrap(&err, "ledger: entry %d", index)
	r, err := queries.LedgerEntryByIndex(ctx, l.pool, index)
	if err != nil {
		return Entry{}, daiban.NoRows(err, "台账中没有序号为 %d 的记录", index)
	}
	return entry(r.LeafIndex, r.ID, r.At, r.Actor, r.CaseID, r.Region, r.Type, r.Payload), nil
}

// EntryByID returns the entry with the id Append returned (Index -1 until
// it is integrated).
func (l *Log) EntryByID(ctx context.Context, id int64) (Entry, error) {
	r, err := queries.LedgerEntryByID(ctx, l.pool, id)
	if err != nil {
		return Entry{}, daiban.NoRows(err, "台账中没有编号为 %d 的记录", id)
	}
	return entry(r.LeafIndex, r.ID, r.At, r.Actor, r.CaseID, r.Region, r.Type, r.Payload), nil
}

func entry(index, id int64, at time.Time, actor string, caseID *int64, region, typ string, payload []byte) Entry {
	e := Entry{Index: index, ID: id, At: at.UTC(), Actor: actor, Region: region, Type: typ, Payload: payload}
	if caseID != nil {
		e.CaseID = *caseID
	}
	return e
}
