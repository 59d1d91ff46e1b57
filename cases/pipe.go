package cases

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipe queues the writes of an action that need no answer and sends them
// to the database in one round trip. A read flushes what is queued first,
// so statements still run in the order they were issued. An action's
// writes (the case row, its notes, its ledger entry) thus cost one round
// trip instead of one each.
type pipe struct {
	tx     batcher
	b      pgx.Batch
	expect map[int]expectation // by position in the batch
}

// batcher is a transaction, or a connection the caller put in one.
type batcher interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

type expectation struct {
	rows int64
	err  error
}

func newPipe(tx batcher) *pipe { return &pipe{tx: tx, expect: map[int]expectation{}} }

// expectRows makes flush fail with err unless the statement queued last
// affects exactly rows rows (an update guarded by the case version).
func (p *pipe) expectRows(rows int64, err error) {
	p.expect[p.b.Len()-1] = expectation{rows, err}
}

// Exec queues a statement; its error, if any, surfaces at flush.
func (p *pipe) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	p.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

// Query flushes the queue, then runs the query.
func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := p.flush(ctx); err != nil {
		return nil, err
	}
	return p.tx.Query(ctx, sql, args...)
}

// QueryRow flushes the queue, then runs the query.
func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := p.flush(ctx); err != nil {
		return errRow{err}
	}
	return p.tx.QueryRow(ctx, sql, args...)
}

// flush sends every queued statement in one batch and reports the first
// failure.
func (p *pipe) flush(ctx context.Context) error {
	n := p.b.Len()
	if n == 0 {
		return nil
	}
	b, expect := p.b, p.expect
	p.b, p.expect = pgx.Batch{}, map[int]expectation{}
	br := p.tx.SendBatch(ctx, &b)
	for i := 0; i < n; i++ {
		tag, err := br.Exec()
		if err == nil {
			if e, ok := expect[i]; ok && tag.RowsAffected() != e.rows {
				err = e.err
			}
		}
		if err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
