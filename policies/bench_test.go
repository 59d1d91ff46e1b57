package policies_test

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daiban/daiban/policies"
)

const benchUsers = 2000

// BenchmarkAllow: one Casbin decision per op over a mixed request stream.
func BenchmarkAllow(b *testing.B) {
	f := newFixture(benchUsers, 1)
	a, err := policies.New(f.grants)
	if err != nil {
		b.Fatal(err)
	}
	allowed := 0
	i := 0
	for b.Loop() {
		r := &f.reqs[i%len(f.reqs)]
		if a.Allow(r.user, r.region, r.obj, r.act, r.rel) {
			allowed++
		}
		i++
	}
	b.ReportMetric(float64(allowed)/float64(i), "allowed/op")
}

// BenchmarkLoad: building an Authorizer with all 2,000 grants (New; Reload
// and every SetGrant cost the same build).
func BenchmarkLoad(b *testing.B) {
	f := newFixture(benchUsers, 1)
	for b.Loop() {
		if _, err := policies.New(f.grants); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllowParallel: decisions from all cores at once (no lock is
// taken on the decision path).
func BenchmarkAllowParallel(b *testing.B) {
	f := newFixture(benchUsers, 1)
	a, err := policies.New(f.grants)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 997
		for pb.Next() {
			r := &f.reqs[i%len(f.reqs)]
			a.Allow(r.user, r.region, r.obj, r.act, r.rel)
			i++
		}
	})
}

// BenchmarkSetGrant: moving one user; only the enforcers of its old and new
// role are rebuilt (village agents: the largest partition, ~1,875 users).
func BenchmarkSetGrant(b *testing.B) {
	f := newFixture(benchUsers, 1)
	a, err := policies.New(f.grants)
	if err != nil {
		b.Fatal(err)
	}
	for _, role := range []policies.Role{policies.RoleTownshipAgent, policies.RoleVillageAgent} {
		var g policies.Grant
		for _, g = range f.grants {
			if g.Role == role {
				break
			}
		}
		b.Run(string(role), func(b *testing.B) {
			i := 0
			for b.Loop() {
				g := g
				if len(g.Region) == 9 {
					g.Region = township(i % nTownships)
				} else {
					g.Region = village(i%nTownships, i%nVillagesPer)
				}
				if err := a.SetGrant(g); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkMapLookup: the floor — a plain Go map lookup of the user's grant
// plus a prefix test, over the same request stream.
func BenchmarkMapLookup(b *testing.B) {
	f := newFixture(benchUsers, 1)
	m := make(map[string]policies.Grant, len(f.grants))
	for _, g := range f.grants {
		m[g.Username] = g
	}
	hits := 0
	i := 0
	for b.Loop() {
		r := &f.reqs[i%len(f.reqs)]
		if g, ok := m[r.user]; ok && policies.RegionContains(g.Region, r.region) {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hits/op")
}

// BenchmarkFigures reports the figures quoted in README.md in one run:
// per-decision latency percentiles (each decision timed on its own), the
// load time of 2,000 grants and a plain map lookup for comparison.
func BenchmarkFigures(b *testing.B) {
	f := newFixture(benchUsers, 2)
	a, err := policies.New(f.grants)
	if err != nil {
		b.Fatal(err)
	}
	m := make(map[string]policies.Grant, len(f.grants))
	for _, g := range f.grants {
		m[g.Username] = g
	}
	// Warm up: the first decision compiles the matcher.
	for _, r := range f.reqs[:256] {
		a.Allow(r.user, r.region, r.obj, r.act, r.rel)
	}

	var lat, latAllow, latDeny []time.Duration
	var loads []time.Duration
	var mapNs float64
	allowed := 0
	for b.Loop() {
		lat, latAllow, latDeny = lat[:0], latAllow[:0], latDeny[:0]
		allowed = 0
		for _, r := range f.reqs {
			t0 := time.Now()
			ok := a.Allow(r.user, r.region, r.obj, r.act, r.rel)
			d := time.Since(t0)
			lat = append(lat, d)
			if ok {
				allowed++
				latAllow = append(latAllow, d)
			} else {
				latDeny = append(latDeny, d)
			}
		}

		t0 := time.Now()
		if _, err := policies.New(f.grants); err != nil {
			b.Fatal(err)
		}
		loads = append(loads, time.Since(t0))

		const rounds = 100
		hits := 0
		t0 = time.Now()
		for k := 0; k < rounds; k++ {
			for _, r := range f.reqs {
				if g, ok := m[r.user]; ok && policies.RegionContains(g.Region, r.region) {
					hits++
				}
			}
		}
		mapNs = float64(time.Since(t0).Nanoseconds()) / float64(rounds*len(f.reqs))
		_ = hits
	}
	slices.Sort(loads)
	pct := func(lat []time.Duration, p float64) float64 {
		slices.Sort(lat)
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(lat, 0.50), "p50-µs")
	b.ReportMetric(pct(lat, 0.95), "p95-µs")
	b.ReportMetric(pct(lat, 0.99), "p99-µs")
	b.ReportMetric(pct(latAllow, 0.50), "p50-allowed-µs")
	b.ReportMetric(pct(latDeny, 0.50), "p50-denied-µs")
	b.ReportMetric(float64(loads[len(loads)/2].Microseconds())/1e3, "load-ms")
	b.ReportMetric(mapNs, "map-ns")
	b.ReportMetric(float64(allowed)/float64(len(f.reqs)), "allowed-frac")
}
