package ledger_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// benchN is the ledger size of BenchmarkVerify: LEDGER_BENCH_N, default
// 1,000,000 (populating takes about a minute; the template is built once
// per test binary).
func benchN(b *testing.B) int64 {
	s := os.Getenv("LEDGER_BENCH_N")
	if s == "" {
		return 1_000_000
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.Fatalf("LEDGER_BENCH_N=%q", s)
	}
	return n
}

var benchKey struct {
	sync.Mutex
	vkey map[int64]string
}

// populate fills a migrated database with n realistic entries (payloads of
// about 210 bytes of canonical JSON with Chinese text) in one INSERT …
// SELECT, then integrates them with the real integrator in batches of
// 100,000 (one signed checkpoint per batch).
func populate(n int64) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		if err := migrate(ctx, url); err != nil {
			return err
		}
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return err
		}
		defer pool.Close()
		start := time.Now()
		_, err = pool.Exec(ctx, `INSERT INTO ledger_entries (at, actor, case_id, region, type, payload)
			SELECT timestamptz '2025-01-01 08:00:00+08' + g * interval '31.123457 seconds',
			       'agent' || (g % 97),
			       g / 8 + 1,
			       '370323' || lpad((g / 8 % 12 + 1)::text, 3, '0') || lpad((g / 8 % 20 + 201)::text, 3, '0'),
			       (ARRAY['case.progress', 'case.custody', 'case.review', 'document.sealed', 'notice.sent'])[g % 5 + 1],
			       convert_to(format('{"holder":"applicant","material":"M%s","note":"申请人已补齐材料，原件核验无误，复印件%s页已归档；下一步转县级部门办理，预计三个工作日内反馈。","step":%s}',
			                         g % 40, g % 9 + 1, g % 13), 'UTF8')
			FROM generate_series(0, $1::bigint - 1) AS g`, n)
		if err != nil {
			return err
		}
		inserted := time.Since(start)
		dir, err := os.MkdirTemp("", "ledger-bench-key-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		sig, err := ledger.LoadOrCreateKey(dir, origin)
		if err != nil {
			return err
		}
		app, err := migrations.OpenAppPool(ctx, url, 2)
		if err != nil {
			return err
		}
		defer app.Close()
		l := ledger.New(app, sig)
		l.SetBatchSize(100_000)
		start = time.Now()
		var total int64
		for {
			k, err := l.Integrate(ctx)
			if err != nil {
				return err
			}
			if k == 0 {
				break
			}
			total += int64(k)
		}
		if total != n {
			return fmt.Errorf("integrated %d of %d", total, n)
		}
		integrated := time.Since(start)
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ledger bench: %d entries inserted in %v, integrated in %v (%.0f entries/s)\n",
			n, inserted.Round(time.Millisecond), integrated.Round(time.Millisecond), float64(n)/integrated.Seconds())
		benchKey.Lock()
		if benchKey.vkey == nil {
			benchKey.vkey = map[int64]string{}
		}
		benchKey.vkey[n] = sig.VerifierKey()
		benchKey.Unlock()
		return nil
	}
}

// readOnly reads the rows Verify reads — the same query, transaction mode,
// session settings and binary row access — without hashing anything: the
// floor for Verify.
func readOnly(ctx context.Context, pool *pgxpool.Pool) (int64, int64, error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, ledger.StreamSettings); err != nil {
		return 0, 0, err
	}
	rows, err := tx.Query(ctx, ledger.VerifyQuery, pgx.QueryExecModeDescribeExec, pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var n, bytes int64
	for rows.Next() {
		for _, v := range rows.RawValues() {
			bytes += int64(len(v))
		}
		n++
	}
	return n, bytes, rows.Err()
}

// BenchmarkVerify measures, on the same database in the same run, (a)
// merely reading every leaf row and (b) Verify, and reports both and their
// ratio. LEDGER_BENCH_N sets the size. Run it with
//
//	go test -run '^$' -bench BenchmarkVerify -benchtime 3x ./ledger/
func BenchmarkVerify(b *testing.B) {
	n := benchN(b)
	tmpl := pgtest.Template(b, fmt.Sprintf("ledger_bench_%d", n), populate(n))
	benchKey.Lock()
	vkey := benchKey.vkey[n]
	benchKey.Unlock()
	url := pgtest.NewDatabase(b, tmpl)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// Warm the cache once so that both measurements read the same way.
	if got, _, err := readOnly(ctx, pool); err != nil || got != n {
		b.Fatalf("read %d rows, %v", got, err)
	}
	var read, verify time.Duration
	var bytes int64
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		got, nb, err := readOnly(ctx, pool)
		if err != nil || got != n {
			b.Fatalf("read %d rows, %v", got, err)
		}
		t1 := time.Now()
		res, err := ledger.Verify(ctx, pool, vkey, nil, nil)
		if err != nil || res.Size != n {
			b.Fatalf("verify: %+v, %v", res, err)
		}
		t2 := time.Now()
		read += t1.Sub(t0)
		verify += t2.Sub(t1)
		bytes = nb
	}
	b.StopTimer()
	readS := read.Seconds() / float64(b.N)
	verifyS := verify.Seconds() / float64(b.N)
	b.ReportMetric(readS, "read-s/op")
	b.ReportMetric(verifyS, "verify-s/op")
	b.ReportMetric(verifyS/readS, "verify/read")
	b.Logf("%d entries (%d MB of row data): read %.2fs, verify %.2fs, ratio %.2f", n, bytes>>20, readS, verifyS, verifyS/readS)
}
