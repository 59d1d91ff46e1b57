package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/migrations"
)

// BenchmarkProgressVsBare measures, on the same PostgreSQL in one run, (a)
// a bare transaction that updates one row and inserts one row and (b)
// daiban's progress action through the service with its ledger entry, each
// from 8 concurrent workers, and reports both rates and their ratio.
//
//	go test -run XXX -bench ProgressVsBare -benchtime 1x ./app/
func BenchmarkProgressVsBare(b *testing.B) {
	const workers = 8
	dur := envDuration("BENCH_SECONDS", 10*time.Second)
	env := apptest.New(b)
	env.User(b, "bench.town", "township_agent", "370323001")
	ctx := context.Background()
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Exec(ctx, `CREATE TABLE bench_rows (id int PRIMARY KEY, n int NOT NULL);
		CREATE TABLE bench_log (id bigserial PRIMARY KEY, row_id int NOT NULL, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, $1::int) g`, workers); err != nil {
		b.Fatal(err)
	}
	// One processing case per worker, as an agent works its own queue.
	ids := make([]int64, workers)
	versions := make([]int, workers)
	actor := cases.Actor{Username: "bench.town", Role: "township_agent", Region: "370323001"}
	tok := env.Token(b, "bench.town")
	for w := range ids {
		id, v := env.CreateCase(b, tok, "370323001", "GT001")
		c, err := env.App.Cases.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		var mats []cases.MaterialReview
		for _, m := range c.Materials {
			mats = append(mats, cases.MaterialReview{Code: m.Code, Received: true, Original: m.RequiredOriginal, Pages: 1})
		}
		v = mustAct(b, env, actor, id, v, cases.ActReview, map[string]any{"result": "accept", "materials": mats})
		if err := pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
			_, err := env.App.Cases.SignedAgreementTx(ctx, tx, actor, id, nil)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		ids[w], versions[w] = id, v+1
	}
	// Each side runs in alternating slices, so load from anything else on
	// the machine falls on both alike.
	type side struct {
		n  int64
		el time.Duration
	}
	slice := func(sd *side, d time.Duration, op func(w int) error) {
		var n atomic.Int64
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if err := op(w); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		sd.n += n.Load()
		sd.el += time.Since(start)
	}
	bareOp := func(w int) error {
		return pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE bench_rows SET n = n + 1 WHERE id = $1`, w+1); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO bench_log (row_id, note) VALUES ($1, $2)`, w+1, "材料已送达审批局，窗口受理中")
			return err
		})
	}
	// The body is decoded once, as the HTTP handler does before it calls
	// the service; what is measured is the action's transaction.
	body, err := cases.ParseBody(cases.ActProgress, []byte(`{"note":"材料已送达审批局，窗口受理中","step":"受理"}`))
	if err != nil {
		b.Fatal(err)
	}
	progressOp := func(w int) error {
		if _, err := env.App.Cases.Act(ctx, actor, ids[w], versions[w], cases.ActProgress, body); err != nil {
			return err
		}
		versions[w]++
		return nil
	}
	const rounds = 5
	var bareSide, progressSide side
	for i := 0; i < rounds; i++ {
		slice(&bareSide, dur/rounds, bareOp)
		slice(&progressSide, dur/rounds, progressOp)
	}
	bare := float64(bareSide.n) / bareSide.el.Seconds()
	progress := float64(progressSide.n) / progressSide.el.Seconds()
	b.ReportMetric(bare, "bare_tx/s")
	b.ReportMetric(progress, "progress/s")
	b.ReportMetric(progress/bare, "ratio")
	fmt.Printf("progress vs bare, %d workers, %s each in 5 alternating slices: bare %.0f tx/s, progress %.0f actions/s, ratio %.2f\n", workers, dur, bare, progress, progress/bare)
}

func mustAct(b *testing.B, env *apptest.Env, a cases.Actor, id int64, v int, action string, body map[string]any) int {
	b.Helper()
	decoded, err := cases.ParseBody(action, mustJSON(body))
	if err != nil {
		b.Fatal(err)
	}
	c, err := env.App.Cases.Act(context.Background(), a, id, v, action, decoded)
	if err != nil {
		b.Fatal(err)
	}
	return c.Version
}

// BenchmarkListAtScale fills the cases table with LIST_CASES (default
// 1,000,000) cases spread over the demo county and measures listing with
// the filters agents use, as each role, reporting p50 and p95.
//
//	go test -run XXX -bench ListAtScale -benchtime 1x -timeout 60m ./app/
func BenchmarkListAtScale(b *testing.B) {
	n := envInt("LIST_CASES", 1_000_000)
	env := apptest.New(b)
	ctx := context.Background()
	start := time.Now()
	// Bulk-load realistic rows: regions are the demo villages, matters the
	// catalog, states spread over the lifecycle, some due and overdue.
	// Values are drawn independently (seeded, so every run loads the same
	// rows): modular arithmetic would correlate region, matter and state.
	_, err := env.Pool.Exec(ctx, `
		INSERT INTO cases (number, tracking_code, region, channel, matter_code, title, matter_codes, complexity, limit_days,
			applicant_kind, applicant_name, applicant_id_number_bidx, applicant_phone_bidx, summary, state, created_by, assignee, created_at, updated_at, due_date)
		SELECT r.code || '-20260101-' || lpad(g.n::text, 7, '0'), 'T' || lpad(g.n::text, 11, '0'), r.code, 'counter', m.code, m.name, ARRAY[m.code], m.complexity, m.limit_days,
			'person', (ARRAY['张','王','李','赵','刘','陈','杨','黄','欧阳','司马'])[1 + (g.r1 * 10)::int % 10] || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','洋','喆','堃','犇'])[1 + (g.r2 * 12)::int % 12] || (ARRAY['','','华','明','红','军'])[1 + (g.r3 * 6)::int % 6],
			sha256('370323198503122011'), sha256(convert_to('138' || lpad((g.r4 * 100000000)::bigint::text, 8, '0'), 'UTF8')), '',
			(ARRAY['consultation','processing','delegated','escalated','closed','closed','closed','awaiting_materials'])[1 + (g.r5 * 8)::int % 8],
			'bench', CASE WHEN g.r6 < 0.3 THEN 'agent' || (g.n % 50) END, now() - (g.n || ' seconds')::interval, now(),
			CASE WHEN g.r6 BETWEEN 0.3 AND 0.7 THEN current_date + (g.n % 40 - 20) END
		FROM (SELECT n, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, (random() * 60)::int % 60 AS ri, (random() * 34)::int % 34 AS mi
		      FROM (SELECT setseed(0.42)) s, generate_series(1, $1::int) n) g
		JOIN (SELECT code, row_number() OVER (ORDER BY code) - 1 AS i FROM regions WHERE level = 'village') r ON r.i = g.ri
		JOIN (SELECT code, name, complexity, limit_days, row_number() OVER (ORDER BY code) - 1 AS i FROM matters) m ON m.i = g.mi`, n)
	if err != nil {
		b.Fatal(err)
	}
	// A table that has been in use is vacuumed and analysed; measuring
	// right after a bulk load would time hint-bit writes and autovacuum.
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) cases"); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("loaded %d cases in %s\n", n, time.Since(start).Round(time.Second))
	filters := []cases.Filter{
		{Scope: "370323", Limit: 50},
		{Scope: "370323001", Limit: 50},
		{Scope: "370323001", State: "processing", Limit: 50},
		{Scope: "370323", Region: "370323101203", Limit: 50},
		{Scope: "370323", Matter: "SP001", Limit: 50},
		{Scope: "370323", Handler: "agent7", Limit: 50},
		{Scope: "370323", Overdue: true, Limit: 50},
		{Scope: "370323", Q: "王芳", Limit: 50},
		{Scope: "370323", Q: "司马犇", Limit: 50},
		{Scope: "370323001", Phone: "13812345678", Limit: 50},
		{Scope: "370323", Q: "370323101201-20260101-0099", Limit: 50},
		{Scope: "370323", Q: "370323101201-2026", Limit: 50},
		{Scope: "370323001001", OwnOnly: true, Username: "agent9", Limit: 50},
		{Scope: "370323", State: "closed", Region: "370323002", Matter: "GT001", Limit: 50},
	}
	var lat []time.Duration
	byShape := make([][]time.Duration, len(filters))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100+100*len(filters); i++ {
		k := i % len(filters)
		f := filters[k]
		if (i/len(filters))%2 == 1 { // the next pages, as a user scrolls
			f.Before = int64(rng.IntN(n)) + 1
		}
		t0 := time.Now()
		if _, err := env.App.Cases.List(ctx, f); err != nil {
			b.Fatal(err)
		}
		if i >= 100 { // warm-up
			d := time.Since(t0)
			lat = append(lat, d)
			byShape[k] = append(byShape[k], d)
		}
	}
	for k, ds := range byShape {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("  shape %2d %+v: p50 %.2f ms, p95 %.2f ms\n", k, filters[k], float64(ds[len(ds)/2].Microseconds())/1000, float64(ds[len(ds)*95/100].Microseconds())/1000)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95_ms")
	fmt.Printf("list at %d cases: p50 %.2f ms, p95 %.2f ms over %d queries (%d filter shapes)\n", n, float64(p50.Microseconds())/1000, float64(p95.Microseconds())/1000, len(lat), len(filters))
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}
