package reports_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// bulkMonth loads n cases opened in October 2026 across the demo
// townships (and their villages) in one statement, with a realistic mix:
// 30% guided on the spot, 20% accompanied, 40% delegated (closed within
// 2–8 days of the agreement when opened before the 22nd, else still in
// processing, escalated or suspended), 5% still in consultation, 5%
// terminated; 60% of the closed ones rated, mostly well; escalations for
// one delegated case in eight and a rectification for every 差评.
func bulkMonth(tb testing.TB, env *apptest.Env, n int) {
	tb.Helper()
	ctx := context.Background()
	_, err := env.Pool.Exec(ctx, `
WITH t AS (SELECT array_agg(code ORDER BY code) AS codes FROM regions WHERE level = 'township'),
g0 AS (
    SELECT g AS n, g % 20 AS kind,
           (SELECT codes[1 + g % array_length(codes, 1)] FROM t) AS town,
           timestamptz '2026-10-01 00:00:00+08' + ((g * 7919) % (31 * 24 * 60)) * interval '1 minute' AS created
    FROM generate_series(1, $1::int) g
),
g AS (
    -- One case in three is opened in a village of the township.
    SELECT g0.*, CASE WHEN n % 3 = 0
                      THEN coalesce((SELECT min(code) FROM regions WHERE parent = town), town)
                      ELSE town END AS region
    FROM g0
),
c AS (
    SELECT g.*,
           CASE WHEN kind BETWEEN 10 AND 17 THEN created + interval '1 hour' END AS delegated,
           CASE WHEN kind BETWEEN 10 AND 17 THEN ((created + interval '1 hour') AT TIME ZONE 'Asia/Shanghai')::date + 7 END AS due,
           CASE
               WHEN kind <= 5 THEN created + interval '20 minutes'
               WHEN kind <= 9 THEN created + (1 + n % 3) * interval '1 day'
               WHEN kind <= 17 AND created < timestamptz '2026-10-22 00:00:00+08'
                   THEN created + interval '1 hour' + (2 + n % 7) * interval '1 day'
               WHEN kind = 19 THEN created + interval '2 hours'
           END AS closed
    FROM g
)
INSERT INTO cases (number, tracking_code, region, channel, matter_code, title, matter_codes, complexity, limit_days,
    mode, applicant_kind, applicant_name, state, outcome, created_by, assignee,
    created_at, updated_at, closed_at, delegated_at, due_date, rating, rated_at)
SELECT region || '-' || to_char(created AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(n::text, 5, '0'),
       'BENCH' || n, region,
       'counter', 'SP001', '食品经营许可（新办）', ARRAY['SP001'], 'general', 5,
       CASE WHEN kind <= 5 THEN 'guide' WHEN kind <= 9 THEN 'accompany' WHEN kind <= 17 THEN 'delegate' END,
       'person', '张喆',
       CASE WHEN closed IS NOT NULL AND kind <> 19 THEN 'closed'
            WHEN kind = 18 THEN 'consultation' WHEN kind = 19 THEN 'terminated'
            WHEN n % 5 = 0 THEN 'escalated' WHEN n % 7 = 0 THEN 'suspended' ELSE 'processing' END,
       CASE WHEN kind <= 5 THEN 'guided' WHEN kind <= 9 THEN 'accompanied' WHEN kind = 19 THEN 'terminated'
            WHEN closed IS NOT NULL THEN 'handed_over' END,
       'bench.' || town, CASE WHEN n % 2 = 0 THEN 'bench.' || town END,
       created, created, closed, delegated, due,
       CASE WHEN closed IS NOT NULL AND kind <> 19 AND n % 5 < 3 THEN
           CASE (n * 37) % 20 WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 3 WHEN 3 THEN 3 WHEN 4 THEN 4 WHEN 5 THEN 4 WHEN 6 THEN 4 ELSE 5 END END,
       CASE WHEN closed IS NOT NULL AND kind <> 19 AND n % 5 < 3 THEN closed + interval '1 hour' END
FROM c`, n)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = env.Pool.Exec(ctx, `
INSERT INTO escalations (case_id, level, authority, tracker, reply_due, created_by, created_at, replied_at, outcome)
SELECT id, (ARRAY['city', 'province', 'national'])[1 + id % 3], '淄博市行政审批服务局', created_by,
       (delegated_at AT TIME ZONE 'Asia/Shanghai')::date + 10, created_by, delegated_at + interval '1 day',
       CASE WHEN state <> 'escalated' THEN delegated_at + interval '2 days' END,
       CASE WHEN state <> 'escalated' THEN (ARRAY['approved', 'returned', 'refused'])[1 + id % 3] END
FROM cases WHERE tracking_code LIKE 'BENCH%' AND mode = 'delegate' AND delegated_at IS NOT NULL AND (state = 'escalated' OR id % 8 = 0);
INSERT INTO rectifications (case_id, rating, comment, status, opened_at, due_date, closed_at, result)
SELECT id, rating, '等待时间太长', CASE WHEN id % 2 = 0 THEN 'rectified' ELSE 'open' END, rated_at,
       (rated_at AT TIME ZONE 'Asia/Shanghai')::date + 21,
       CASE WHEN id % 2 = 0 THEN rated_at + (id % 30) * interval '1 day' END,
       CASE WHEN id % 2 = 0 THEN '已回访并致歉' END
FROM cases WHERE tracking_code LIKE 'BENCH%' AND rating <= 2;
ANALYZE cases; ANALYZE escalations; ANALYZE rectifications;`)
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMonthlyCounty generates the county's report of a month of
// 10,000 cases: one operation is the JSON and the PDF, through the API.
// The contract is under 2 seconds.
//
//	go test -run XXX -bench MonthlyCounty -benchtime 5x ./reports/
func BenchmarkMonthlyCounty(b *testing.B) {
	const cases = 10000
	env := apptest.New(b)
	ctx := context.Background()
	rows, err := env.Pool.Query(ctx, `SELECT code FROM regions WHERE level = 'township' ORDER BY code`)
	if err != nil {
		b.Fatal(err)
	}
	var towns []string
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			b.Fatal(err)
		}
		towns = append(towns, code)
	}
	rows.Close()
	for _, code := range towns {
		env.User(b, "bench."+code, "township_agent", code)
	}
	env.User(b, "bench.super", "supervisor", "370323")
	start := time.Now()
	bulkMonth(b, env, cases)
	var loaded, overdue int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE tracking_code LIKE 'BENCH%'`).Scan(&loaded); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d cases across %d townships in %v", loaded, len(towns), time.Since(start).Round(time.Millisecond))
	tok := env.Token(b, "bench.super")
	get := func(path string) (apptest.Response, time.Duration) {
		t0 := time.Now()
		r := env.Do(b, tok, http.MethodGet, path, nil, nil)
		if r.Status != http.StatusOK {
			b.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		return r, time.Since(t0)
	}
	// One warm-up call: the fonts' glyph cache and the connection pool.
	r, _ := get("/api/v1/reports/monthly?month=2026-10&region=370323")
	if d := decode(b, r); d.Total.Received != cases {
		b.Fatalf("received %d, want %d", d.Total.Received, cases)
	} else {
		overdue = len(d.Overdue)
		b.Logf("report: received %d, closed %d, overdue list %d, 差评 %d", d.Total.Received, d.Total.Closed, overdue, len(d.Complaints))
	}
	var jsonTime, pdfTime time.Duration
	var pdfBytes int
	b.ResetTimer()
	for b.Loop() {
		_, dj := get("/api/v1/reports/monthly?month=2026-10&region=370323")
		p, dp := get("/api/v1/reports/monthly.pdf?month=2026-10&region=370323")
		jsonTime += dj
		pdfTime += dp
		pdfBytes = len(p.Body)
	}
	b.StopTimer()
	n := time.Duration(b.N)
	per := (jsonTime + pdfTime) / n
	b.ReportMetric(float64((jsonTime/n).Microseconds())/1000, "json-ms/op")
	b.ReportMetric(float64((pdfTime/n).Microseconds())/1000, "pdf-ms/op")
	fmt.Printf("monthly report, county, %d cases: JSON %v + PDF %v (%d KB) = %v per report\n",
		cases, (jsonTime / n).Round(time.Millisecond), (pdfTime / n).Round(time.Millisecond), pdfBytes/1024, per.Round(time.Millisecond))
	if per > 2*time.Second {
		b.Errorf("a report takes %v, over the 2 s budget", per)
	}
}
