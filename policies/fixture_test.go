package policies_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/daiban/daiban/policies"
)

// Region tree used by tests and benchmarks: one county, 20 townships, 15
// villages per township (300 villages).
const county = "370323"

func township(t int) string { return fmt.Sprintf("%s%03d", county, t+1) }

func village(t, v int) string { return fmt.Sprintf("%s%03d", township(t), 201+v) }

const (
	nTownships   = 20
	nVillagesPer = 15
)

// fixture holds 2,000 users with mixed roles and a pre-generated stream of
// decisions.
type fixture struct {
	grants []policies.Grant
	reqs   []request
}

type request struct{ user, region, obj, act, rel string }

// newFixture makes n users: 10 county agents, 10 supervisors, 5 admins,
// 5 township agents per township and village agents for the rest, spread
// evenly over the villages.
func newFixture(n int, seed uint64) *fixture {
	f := &fixture{}
	add := func(role policies.Role, region string) {
		f.grants = append(f.grants, policies.Grant{
			Username: fmt.Sprintf("u%04d", len(f.grants)),
			Role:     role,
			Region:   region,
		})
	}
	for i := 0; i < 10; i++ {
		add(policies.RoleCountyAgent, county)
	}
	for i := 0; i < 10; i++ {
		add(policies.RoleSupervisor, county)
	}
	for i := 0; i < 5; i++ {
		add(policies.RoleAdmin, county)
	}
	for t := 0; t < nTownships; t++ {
		for i := 0; i < 5; i++ {
			add(policies.RoleTownshipAgent, township(t))
		}
	}
	for i := 0; len(f.grants) < n; i++ {
		v := i % (nTownships * nVillagesPer)
		add(policies.RoleVillageAgent, village(v/nVillagesPer, v%nVillagesPer))
	}

	// Decisions: a random user asks a random (obj, act) from policy.csv.
	// Case requests target a village (half of the time the user's own
	// area); other objects are regionless or at the county.
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	perms := policies.Permissions()
	for i := 0; i < 8192; i++ {
		g := f.grants[rng.IntN(len(f.grants))]
		p := perms[rng.IntN(len(perms))]
		rel := policies.RelAny
		if rng.IntN(2) == 0 {
			rel = policies.RelOwn
		}
		var region string
		switch {
		case p[0] == "case" && rng.IntN(2) == 0 && len(g.Region) == 12:
			region = g.Region
		case p[0] == "case" && rng.IntN(2) == 0 && len(g.Region) == 9:
			region = g.Region + fmt.Sprintf("%03d", 201+rng.IntN(nVillagesPer))
		case p[0] == "case":
			region = village(rng.IntN(nTownships), rng.IntN(nVillagesPer))
		case rng.IntN(2) == 0:
			region = ""
		default:
			region = county
		}
		f.reqs = append(f.reqs, request{g.Username, region, p[0], p[1], rel})
	}
	return f
}
