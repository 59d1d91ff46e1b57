package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/pgserver/pgtest"
)

func BenchmarkZZPlan(b *testing.B) {
	n := benchN(b)
	tmpl := pgtest.Template(b, fmt.Sprintf("ledger_bench_%d", n), populate(n))
	url := pgtest.NewDatabase(b, tmpl)
	pool, _ := pgxpool.New(context.Background(), url)
	defer pool.Close()
	for i := 0; i < 2; i++ {
		rows, err := pool.Query(context.Background(), "EXPLAIN (ANALYZE, BUFFERS) "+ledger.VerifyQuery)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			b.Log(s)
		}
	}
}
