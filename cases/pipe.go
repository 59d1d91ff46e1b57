package cases

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// pipe queues the writes of an action that need no answer and sends them
// to the database in one round trip. A read flushes what is queued first,
// so statements still run in the order they were issued. An action's
// writes (the case row, its notes, its ledger entry) thus cost one round
// trip instead of one each.
type pipe struct {
	tx batcher
	b  pgx.Batch
}

// batcher is a transaction, or a connection the caller put in one.
type batcher interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func newPipe(tx batcher) *pipe { return &pipe{tx: tx} }

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
	b := p.b
	p.b = pgx.Batch{}
	br := p.tx.SendBatch(ctx, &b)
	for i := 0; i < n; i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return versionError(err)
		}
	}
	return versionError(br.Close())
}

// versionError turns the version guard's failure (daiban_expect_rows,
// SQLSTATE DB409) into version_conflict.
func versionError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "DB409" {
		return errVersion
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// customPlans runs queries as unnamed statements, which PostgreSQL plans
// with the actual parameter values every time. The case list has many
// optional filters; a cached generic plan for it would fit none of them.
type customPlans struct{ db dbsqlc.DBTX }

func (c customPlans) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.db.Exec(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

func (c customPlans) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.db.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

func (c customPlans) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.db.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}
