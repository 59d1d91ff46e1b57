package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban"
)

// verifyQuery reads every leaf with its entry, in leaf order. Verify decodes
// the binary wire values itself (RawValues) so that reading a row allocates
// nothing.
const verifyQuery = `SELECT l.leaf_index, e.at, e.actor, e.case_id, e.region, e.type, e.payload
FROM ledger_leaves l
JOIN ledger_entries e ON e.id = l.entry_id
ORDER BY l.leaf_index`

// streamSettings make the leaf-order queries (verify, export) stream: the
// leaves' primary key in order with one index lookup per entry, instead of
// a hash or merge join followed by a sort of the whole ledger (which spills
// it to temporary files, about 270 MB per million entries, and sends the
// first row only once the sort is done). No parallel workers either: they
// would compete with the verifier's hashing on small servers. Local to the
// (read-only) transaction.
const streamSettings = `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL max_parallel_workers_per_gather = 0`

// pgEpochMicros is 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in
// microseconds after the Unix epoch.
const pgEpochMicros = 946684800 * 1_000_000

// VerifyError reports a ledger that does not match its signed checkpoints.
type VerifyError struct {
	// Index is the first leaf index that is wrong (changed, missing, out of
	// place, or not covered by a checkpoint); -1 when the fault is not in a
	// leaf (a checkpoint record whose signature does not verify).
	Index  int64
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return "台账校验失败：" + e.Reason
	}
	return fmt.Sprintf("台账校验失败：序号 %d：%s", e.Index, e.Reason)
}

// Result is a successful verification.
type Result struct {
	Size       int64       // leaves recomputed
	Root       tlog.Hash   // recomputed root of all leaves
	Checkpoint Checkpoint  // the latest checkpoint, whose root matched
	Kept       *Checkpoint // the kept checkpoint, proven a prefix of the ledger
}

// Verify recomputes the whole tree from the entries — every leaf encoded
// from the stored rows, in leaf order — and checks it against the signed
// checkpoints in the database, the latest one in particular, which must
// cover every leaf. With kept (the signed note text of a checkpoint the
// supervisor kept outside the database) it also proves that the kept tree is
// a prefix of the current one, by recomputing the root at the kept size
// from the same entries: this detects the newest entries being deleted
// together with the checkpoints that covered them.
//
// verifierKey is the public key (ledger.pub). progress, if not nil, is
// called every 65,536 leaves and at the end. A tampered ledger gives a
// *VerifyError naming the first bad leaf index; database and input errors
// are returned as they are.
//
// Reads run in one read-only repeatable-read transaction, so an integrator
// working at the same time cannot make the leaves and checkpoints disagree.
func Verify(ctx context.Context, pool *pgxpool.Pool, verifierKey string, kept []byte, progress func(done, total int64)) (_ Result, err error) {
	defer daiban.Wrap(&err, "ledger: verify")
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return Result{}, daiban.Invalid("key", "台账验证公钥格式错误：%v", err)
	}
	r := &verification{v: v, progress: progress}
	if kept != nil {
		cp, err := OpenCheckpoint(kept, v)
		if err != nil {
			return Result{}, daiban.Invalid("checkpoint", "保存的检查点无法验证：%v", err)
		}
		r.kept = &cp
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, streamSettings); err != nil {
		return Result{}, err
	}
	r.tx = tx
	if err := r.loadCheckpoints(ctx); err != nil {
		return Result{}, err
	}
	if r.total, err = queries.LedgerLeafCount(ctx, tx); err != nil {
		return Result{}, err
	}
	if err := r.stream(ctx); err != nil {
		return Result{}, err
	}
	if err := r.finish(ctx); err != nil {
		return Result{}, err
	}
	res := Result{Size: r.f.n, Root: r.f.root(), Kept: r.kept}
	if len(r.cps) > 0 {
		res.Checkpoint = r.cps[len(r.cps)-1]
	}
	return res, nil
}

type verification struct {
	v        note.Verifier
	tx       pgx.Tx
	progress func(done, total int64)
	total    int64

	kept  *Checkpoint
	cps   []Checkpoint // checkpoints with a good signature, by size
	badCP string       // the first checkpoint record that did not verify
	next  int          // next checkpoint to compare

	f        frontier
	lastGood int64       // leaves [0, lastGood) are proven by a checkpoint
	recent   []tlog.Hash // recomputed leaf hashes of [lastGood, f.n)
}

func (r *verification) loadCheckpoints(ctx context.Context) error {
	rows, err := queries.LedgerCheckpoints(ctx, r.tx)
	if err != nil {
		return err
	}
	for _, row := range rows {
		cp, err := OpenCheckpoint([]byte(row.Note), r.v)
		if err == nil && (cp.Size != row.Size || !bytes.Equal(cp.Root[:], row.Root)) {
			err = errors.New("签名内容与记录的大小或根哈希不符")
		}
		if err != nil {
			if r.badCP == "" {
				r.badCP = fmt.Sprintf("数据库中的检查点（大小 %d）无效：%v", row.Size, err)
			}
			continue
		}
		r.cps = append(r.cps, cp)
	}
	return nil
}

func (r *verification) stream(ctx context.Context) error {
	rows, err := r.tx.Query(ctx, verifyQuery, pgx.QueryExecModeDescribeExec, pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, fd := range rows.FieldDescriptions() {
		if fd.Format != pgx.BinaryFormatCode {
			return errors.New("ledger: verify needs binary results")
		}
	}
	buf := make([]byte, 0, 1024)
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != 7 || len(raw[0]) != 8 || len(raw[1]) != 8 || (raw[3] != nil && len(raw[3]) != 8) {
			return errors.New("ledger: unexpected row layout")
		}
		n := r.f.n
		if idx := int64(binary.BigEndian.Uint64(raw[0])); idx != n {
			rows.Close()
			return r.fail(ctx, n, fmt.Sprintf("记录缺失：叶子序号不连续（下一条是 %d），有记录被删除", idx))
		}
		at := int64(binary.BigEndian.Uint64(raw[1])) + pgEpochMicros
		var caseID int64
		if raw[3] != nil {
			caseID = int64(binary.BigEndian.Uint64(raw[3]))
		}
		buf = append(buf[:0], 0) // RFC 6962 leaf prefix
		buf = appendLeaf(buf, at, raw[2], caseID, raw[3] != nil, raw[4], raw[5], raw[6])
		h := tlog.Hash(sha256.Sum256(buf))
		r.f.push(h)
		r.recent = append(r.recent, h)
		if reason := r.checkAt(); reason != "" {
			rows.Close()
			return r.fail(ctx, -1, reason)
		}
		if r.progress != nil && r.f.n&0xffff == 0 {
			r.progress(r.f.n, max(r.total, r.f.n))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if r.progress != nil {
		r.progress(r.f.n, r.f.n)
	}
	return nil
}

// checkAt compares the recomputed root with every checkpoint of exactly the
// current size; it returns what is wrong, or "".
func (r *verification) checkAt() string {
	n := r.f.n
	for r.next < len(r.cps) && r.cps[r.next].Size <= n {
		cp := r.cps[r.next]
		r.next++
		if cp.Size != n {
			continue // unreachable: sizes are checked as they pass
		}
		if r.f.root() != cp.Root {
			return fmt.Sprintf("重算的根哈希与检查点（大小 %d）不符", n)
		}
		r.proven()
	}
	if r.kept != nil && r.kept.Size == n {
		if r.f.root() != r.kept.Root {
			return fmt.Sprintf("重算的根哈希与保存的检查点（大小 %d）不符", n)
		}
		r.proven()
	}
	return ""
}

func (r *verification) proven() {
	r.lastGood = r.f.n
	r.recent = r.recent[:0]
}

// finish checks what can only be judged after the last leaf: leaves missing
// at the end, and leaves no checkpoint covers.
func (r *verification) finish(ctx context.Context) error {
	n := r.f.n
	latest := int64(0)
	if len(r.cps) > 0 {
		latest = r.cps[len(r.cps)-1].Size
	}
	switch {
	case n < latest:
		return r.fail(ctx, n, fmt.Sprintf("最新检查点记录了 %d 条，数据库中只有 %d 条：自此起的记录被删除", latest, n))
	case r.kept != nil && r.kept.Size > n:
		return r.fail(ctx, n, fmt.Sprintf("保存的检查点记录了 %d 条，数据库中只有 %d 条：自此起的记录连同其检查点被删除", r.kept.Size, n))
	case n > latest:
		msg := fmt.Sprintf("自此起的 %d 条记录不在最新检查点（大小 %d）之内，是绕过记账程序追加的", n-latest, latest)
		if r.badCP != "" {
			msg += "；" + r.badCP
		}
		return &VerifyError{Index: latest, Reason: msg}
	case r.badCP != "":
		return &VerifyError{Index: -1, Reason: r.badCP}
	}
	return nil
}

// fail turns a fault found at leaf k (k = -1: a root mismatch at the
// current size) into a VerifyError naming the first bad leaf: the leaves
// since the last proven checkpoint are compared with the leaf hashes the
// integrator stored when it took them; the first that differs is the
// culprit. When none differs (the stored hashes were rewritten too), the
// fault is k, or for a root mismatch the first unproven leaf.
func (r *verification) fail(ctx context.Context, k int64, reason string) error {
	j, err := r.firstChanged(ctx)
	if err != nil {
		return err
	}
	if j >= 0 {
		return &VerifyError{Index: j, Reason: "记录内容与记入台账时不符（叶子哈希不一致）：记录被修改、调换或插入"}
	}
	if k >= 0 {
		return &VerifyError{Index: k, Reason: reason}
	}
	return &VerifyError{Index: r.lastGood, Reason: fmt.Sprintf("%s：序号 %d 至 %d 之间有记录被改动（存储的哈希也被改写）", reason, r.lastGood, r.f.n-1)}
}

// firstChanged returns the first leaf in [lastGood, f.n) whose recomputed
// hash differs from (or lacks) its stored leaf hash, or -1.
func (r *verification) firstChanged(ctx context.Context) (int64, error) {
	const chunk = 10000
	for start := 0; start < len(r.recent); start += chunk {
		end := min(start+chunk, len(r.recent))
		idx := make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, r.lastGood+int64(i)))
		}
		rows, err := queries.LedgerHashes(ctx, r.tx, idx)
		if err != nil {
			return 0, err
		}
		stored := make(map[int64][]byte, len(rows))
		for _, row := range rows {
			stored[row.StorageIndex] = row.Hash
		}
		for i := start; i < end; i++ {
			h, ok := stored[idx[i-start]]
			if !ok || !bytes.Equal(h, r.recent[i][:]) {
				return r.lastGood + int64(i), nil
			}
		}
	}
	return -1, nil
}

// ReadVerifierKey reads a verifier key file (ledger.pub).
func ReadVerifierKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("无法读取台账验证公钥 %s：%w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// VerifyCommand is `daiban ledger verify [--checkpoint FILE]`: it verifies
// the ledger with the public key verifierKey and, when checkpointFile is not
// "", against the signed checkpoint kept in that file. It prints progress
// every 5% on ledgers of 100,000 entries or more and a summary line to out.
// A non-nil error means the command must exit non-zero; a tampered ledger
// gives a *VerifyError naming the first bad index.
func VerifyCommand(ctx context.Context, pool *pgxpool.Pool, verifierKey, checkpointFile string, out io.Writer) error {
	var kept []byte
	if checkpointFile != "" {
		b, err := os.ReadFile(checkpointFile)
		if err != nil {
			return fmt.Errorf("无法读取检查点文件 %s：%w", checkpointFile, err)
		}
		kept = b
	}
	start := time.Now()
	step := int64(-1)
	progress := func(done, total int64) {
		if total < 100_000 || done >= total {
			return
		}
		if s := done * 20 / total; s > step {
			step = s
			fmt.Fprintf(out, "校验进度 %d%%（%d/%d）\n", s*5, done, total)
		}
	}
	res, err := Verify(ctx, pool, verifierKey, kept, progress)
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			fmt.Fprintln(out, ve.Error())
		} else {
			fmt.Fprintf(out, "台账校验未完成：%s\n", errorText(err))
		}
		return err
	}
	if res.Size == 0 {
		fmt.Fprintln(out, "台账校验通过：台账为空")
		return nil
	}
	msg := fmt.Sprintf("台账校验通过：共 %d 条记录，与最新检查点一致（根哈希 %s）", res.Size, base64.StdEncoding.EncodeToString(res.Root[:]))
	if res.Kept != nil {
		msg += fmt.Sprintf("，并包含保存的检查点（%d 条）", res.Kept.Size)
	}
	fmt.Fprintf(out, "%s，用时 %.1f 秒\n", msg, time.Since(start).Seconds())
	return nil
}

func errorText(err error) string {
	if daiban.ErrorCode(err) != daiban.EINTERNAL {
		return daiban.ErrorMessage(err)
	}
	return err.Error()
}

// Verify checks the whole ledger against its signed checkpoints with the
// log's own verifier key, as the package-level Verify does (kept as
// there; no progress reports). A read-only Log without a signer cannot.
func (l *Log) Verify(ctx context.Context, kept []byte) (Result, error) {
	if l.signer == nil {
		return Result{}, errors.New("ledger: Verify needs the verifier key: the Log has no signer")
	}
	return Verify(ctx, l.pool, l.signer.VerifierKey(), kept, nil)
}
