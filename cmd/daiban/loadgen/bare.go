package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// bareSide runs the equivalent bare transaction.
type bareSide struct {
	pool    *pgxpool.Pool
	workers int
	n       atomic.Int64
	errs    atomic.Int64
}

const (
	bareRows = "loadgen_bare_rows"
	bareLog  = "loadgen_bare_log"
)

func newBare(ctx context.Context, pool *pgxpool.Pool, workers int) (*bareSide, error) {
	_, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+bareRows+`, `+bareLog+`;
		CREATE TABLE `+bareRows+` (id int PRIMARY KEY, n int NOT NULL);
		CREATE TABLE `+bareLog+` (id bigserial PRIMARY KEY, row_id int NOT NULL, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)`)
	if err != nil {
		return nil, fmt.Errorf("压测：无法创建裸事务用表：%w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO `+bareRows+` SELECT g, 0 FROM generate_series(1, $1::int) g`, workers); err != nil {
		return nil, err
	}
	return &bareSide{pool: pool, workers: workers}, nil
}

func (b *bareSide) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = b.pool.Exec(ctx, `DROP TABLE IF EXISTS `+bareRows+`, `+bareLog)
}

// run runs the workers for d and returns the time it took.
func (b *bareSide) run(ctx context.Context, d time.Duration) time.Duration {
	start := time.Now()
	stop := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < b.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `UPDATE `+bareRows+` SET n = n + 1 WHERE id = $1`, w+1); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO `+bareLog+` (row_id, note) VALUES ($1, $2)`, w+1, "材料已送达审批局，窗口受理中")
					return err
				})
				if err != nil {
					b.errs.Add(1)
					continue
				}
				b.n.Add(1)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
