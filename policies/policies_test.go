package policies_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/daiban/daiban/policies"
)

// vocabulary is the product contract's list of objects and actions,
// written out here independently of policy.csv.
var vocabulary = map[string][]string{
	"case": {"read", "create", "guide", "accompany", "complete", "review", "supply", "assign",
		"progress", "escalate", "reply", "suspend", "resume", "results", "terminate", "evaluate",
		"supervise", "custody", "agreement", "handover", "document", "issue_notice", "ledger"},
	"ledger":  {"read", "verify", "export"},
	"report":  {"read"},
	"notice":  {"read"},
	"user":    {"read", "manage"},
	"region":  {"read", "manage"},
	"matter":  {"read", "manage"},
	"key":     {"manage"},
	"session": {"me"},
	// 网上预约 (issue 17): the day's bookings, counter confirmation, slots.
	"appointment": {"read", "confirm", "manage"},
	"partner":     {"read", "manage"}, // partners and their deliveries (issue 16)
}

func isOneOf(s string, list ...string) bool { return slices.Contains(list, s) }

// expected is the contract's role table as a plain function: may role do
// act on obj, inside its region or not, with relation rel?
func expected(role policies.Role, obj, act string, inside bool, rel string) bool {
	if !inside {
		return false
	}
	own := rel == policies.RelOwn
	switch role {
	case policies.RoleCountyAgent, policies.RoleTownshipAgent:
		switch obj {
		case "case":
			return act != "supervise"
		case "ledger", "report":
			return act == "read"
		case "notice", "region", "matter":
			return act == "read"
		case "session":
			return act == "me"
		case "appointment":
			return true
		}
	case policies.RoleVillageAgent:
		switch obj {
		case "case":
			if act == "create" {
				return true
			}
			return own && isOneOf(act, "read", "progress", "custody", "supply", "document", "issue_notice", "ledger")
		case "notice", "region", "matter":
			return act == "read"
		case "session":
			return act == "me"
		}
	case policies.RoleSupervisor:
		switch obj {
		case "case":
			return isOneOf(act, "read", "supervise", "document", "ledger")
		case "ledger":
			return isOneOf(act, "read", "verify", "export")
		case "report", "notice", "region", "matter", "appointment":
			return act == "read"
		case "session":
			return act == "me"
		}
	case policies.RoleAdmin:
		switch obj {
		case "user", "region", "matter", "appointment", "partner":
			return isOneOf(act, "read", "manage")
		case "key":
			return act == "manage"
		case "notice":
			return act == "read"
		case "session":
			return act == "me"
		}
	}
	return false
}

// One user per role, with a resource region inside and one outside its
// scope. The township agent's "outside" is a village of another township;
// the village agent's a neighbouring village; the county-wide roles' a
// village of another county.
var roleCases = []struct {
	grant   policies.Grant
	inside  []string
	outside []string
}{
	{policies.Grant{Username: "county", Role: policies.RoleCountyAgent, Region: county},
		[]string{county, township(3), village(7, 2)}, []string{"370324", "370324001201", "37032"}},
	{policies.Grant{Username: "town", Role: policies.RoleTownshipAgent, Region: township(0)},
		[]string{township(0), village(0, 0), village(0, 14)}, []string{county, township(1), village(1, 0)}},
	{policies.Grant{Username: "vill", Role: policies.RoleVillageAgent, Region: village(0, 0)},
		[]string{village(0, 0)}, []string{county, township(0), village(0, 1), village(2, 0)}},
	{policies.Grant{Username: "super", Role: policies.RoleSupervisor, Region: county},
		[]string{county, township(5), village(5, 5)}, []string{"370324001201"}},
	{policies.Grant{Username: "admin", Role: policies.RoleAdmin, Region: county},
		[]string{county, village(1, 1)}, []string{"370324"}},
}

func newRoleAuthorizer(t testing.TB) *policies.Authorizer {
	t.Helper()
	var grants []policies.Grant
	for _, rc := range roleCases {
		grants = append(grants, rc.grant)
	}
	a, err := policies.New(grants)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRoleTable(t *testing.T) {
	a := newRoleAuthorizer(t)
	objs := make([]string, 0, len(vocabulary))
	for obj := range vocabulary {
		objs = append(objs, obj)
	}
	slices.Sort(objs)
	checked, allowed := 0, 0
	for _, rc := range roleCases {
		g := rc.grant
		for _, obj := range objs {
			for _, act := range vocabulary[obj] {
				for _, rel := range []string{policies.RelOwn, policies.RelAny} {
					// "" is a regionless object: inside every grant.
					for _, region := range append([]string{""}, rc.inside...) {
						want := expected(g.Role, obj, act, true, rel)
						if got := a.Allow(g.Username, region, obj, act, rel); got != want {
							t.Errorf("%s %s/%s region %q rel %s: got %v, want %v", g.Role, obj, act, region, rel, got, want)
						}
						checked++
						if want {
							allowed++
						}
					}
					for _, region := range rc.outside {
						want := expected(g.Role, obj, act, false, rel)
						if got := a.Allow(g.Username, region, obj, act, rel); got != want {
							t.Errorf("%s %s/%s outside region %q rel %s: got %v, want %v", g.Role, obj, act, region, rel, got, want)
						}
						checked++
					}
				}
				// RoleMay: some region and relation would be allowed.
				want := expected(g.Role, obj, act, true, policies.RelOwn)
				if got := a.RoleMay(g.Username, obj, act); got != want {
					t.Errorf("RoleMay %s %s/%s: got %v, want %v", g.Role, obj, act, got, want)
				}
			}
		}
	}
	t.Logf("%d decisions checked, %d allowed", checked, allowed)
}

// A relation other than "own" counts as "any".
func TestUnknownRelationIsAny(t *testing.T) {
	a := newRoleAuthorizer(t)
	for _, rel := range []string{"", "OWN", "mine", "any"} {
		if a.Allow("vill", village(0, 0), "case", "progress", rel) {
			t.Errorf("village agent progress with rel %q allowed; only own may", rel)
		}
		if !a.Allow("vill", village(0, 0), "case", "create", rel) {
			t.Errorf("village agent create with rel %q denied", rel)
		}
	}
}

func TestUnknownUser(t *testing.T) {
	a := newRoleAuthorizer(t)
	for _, user := range []string{"", "nobody", "County", "county ", "*"} {
		for obj, acts := range vocabulary {
			for _, act := range acts {
				if a.Allow(user, county, obj, act, policies.RelOwn) || a.Allow(user, "", obj, act, policies.RelAny) {
					t.Errorf("unknown user %q allowed %s/%s", user, obj, act)
				}
				if a.RoleMay(user, obj, act) {
					t.Errorf("unknown user %q: RoleMay %s/%s", user, obj, act)
				}
			}
		}
		if _, ok := a.Grant(user); ok {
			t.Errorf("unknown user %q has a grant", user)
		}
	}
}

func TestGrantChanges(t *testing.T) {
	a := newRoleAuthorizer(t)
	t0v, t1v := village(0, 3), village(1, 3)
	if !a.Allow("town", t0v, "case", "review", policies.RelAny) || a.Allow("town", t1v, "case", "review", policies.RelAny) {
		t.Fatal("township agent of township 0: wrong starting decisions")
	}

	// Move the township agent to township 1.
	if err := a.SetGrant(policies.Grant{Username: "town", Role: policies.RoleTownshipAgent, Region: township(1)}); err != nil {
		t.Fatal(err)
	}
	if a.Allow("town", t0v, "case", "review", policies.RelAny) {
		t.Error("after the move: still allowed in the old township")
	}
	if !a.Allow("town", t1v, "case", "review", policies.RelAny) {
		t.Error("after the move: denied in the new township")
	}
	if g, ok := a.Grant("town"); !ok || g.Region != township(1) {
		t.Errorf("Grant after move = %+v, %v", g, ok)
	}

	// Change role: township agent becomes a supervisor of the same township.
	if err := a.SetGrant(policies.Grant{Username: "town", Role: policies.RoleSupervisor, Region: township(1)}); err != nil {
		t.Fatal(err)
	}
	if a.Allow("town", t1v, "case", "review", policies.RelAny) || !a.Allow("town", t1v, "case", "supervise", policies.RelAny) {
		t.Error("after the role change: decisions still follow the old role")
	}

	// A new user is effective at once; other users are untouched.
	if err := a.SetGrant(policies.Grant{Username: "new", Role: policies.RoleVillageAgent, Region: t0v}); err != nil {
		t.Fatal(err)
	}
	if !a.Allow("new", t0v, "case", "create", policies.RelAny) {
		t.Error("new village agent cannot create in its village")
	}
	if !a.Allow("county", t0v, "case", "terminate", policies.RelAny) || !a.Allow("vill", village(0, 0), "case", "read", policies.RelOwn) {
		t.Error("an unrelated grant change altered other users' decisions")
	}

	// RemoveGrant denies everything.
	a.RemoveGrant("town")
	for obj, acts := range vocabulary {
		for _, act := range acts {
			if a.Allow("town", t1v, obj, act, policies.RelOwn) || a.Allow("town", "", obj, act, policies.RelOwn) || a.RoleMay("town", obj, act) {
				t.Errorf("removed user still allowed %s/%s", obj, act)
			}
		}
	}
	if _, ok := a.Grant("town"); ok {
		t.Error("removed user still has a grant")
	}
	a.RemoveGrant("town") // no-op

	// Reload replaces everything.
	if err := a.Reload([]policies.Grant{{Username: "town", Role: policies.RoleCountyAgent, Region: county}}); err != nil {
		t.Fatal(err)
	}
	if !a.Allow("town", t0v, "case", "review", policies.RelAny) {
		t.Error("after Reload: new grant not effective")
	}
	if a.Allow("county", t0v, "case", "read", policies.RelAny) || a.Allow("new", t0v, "case", "create", policies.RelAny) {
		t.Error("after Reload: dropped users still allowed")
	}
}

func TestInvalidGrants(t *testing.T) {
	bad := []policies.Grant{
		{Username: "", Role: policies.RoleAdmin, Region: county},
		{Username: "x", Role: "root", Region: county},
		{Username: "x", Role: policies.RoleAdmin, Region: ""},
		{Username: "x", Role: policies.RoleAdmin, Region: "3703*"},
	}
	for _, g := range bad {
		if _, err := policies.New([]policies.Grant{g}); err == nil {
			t.Errorf("New accepted %+v", g)
		}
	}
	if _, err := policies.New([]policies.Grant{
		{Username: "x", Role: policies.RoleAdmin, Region: county},
		{Username: "x", Role: policies.RoleSupervisor, Region: county},
	}); err == nil {
		t.Error("New accepted two grants for one user")
	}

	a := newRoleAuthorizer(t)
	for _, g := range bad {
		if err := a.SetGrant(g); err == nil {
			t.Errorf("SetGrant accepted %+v", g)
		}
	}
	if err := a.Reload(append(bad[:0:0], bad[1])); err == nil {
		t.Error("Reload accepted a bad grant")
	}
	if !a.Allow("county", county, "case", "read", policies.RelAny) {
		t.Error("a rejected Reload dropped the previous grants")
	}
}

func TestRoles(t *testing.T) {
	if len(policies.Roles) != 5 {
		t.Fatalf("Roles = %v", policies.Roles)
	}
	for _, r := range policies.Roles {
		if !r.Valid() {
			t.Errorf("Role(%q).Valid() = false", r)
		}
		if r.Label() == "" {
			t.Errorf("Role(%q) has no label", r)
		}
	}
	for _, r := range []policies.Role{"", "Admin", "root", "county_agent "} {
		if r.Valid() {
			t.Errorf("Role(%q).Valid() = true", r)
		}
	}
}

// policy.csv sanity: every line is "p, role, obj, acts, rel" with a known
// role, object, actions and relation; Permissions covers the vocabulary.
func TestPolicyFile(t *testing.T) {
	data, err := os.ReadFile("policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines++
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) != 5 || f[0] != "p" {
			t.Errorf("line %d: %q is not \"p, role, obj, acts, rel\"", n+1, line)
			continue
		}
		if !policies.Role(f[1]).Valid() {
			t.Errorf("line %d: unknown role %q", n+1, f[1])
		}
		known, ok := vocabulary[f[2]]
		if !ok {
			t.Errorf("line %d: unknown object %q", n+1, f[2])
		}
		for _, act := range strings.Split(f[3], "|") {
			if !slices.Contains(known, act) {
				t.Errorf("line %d: unknown action %q on %q", n+1, act, f[2])
			}
		}
		if f[4] != policies.RelOwn && f[4] != policies.RelAny {
			t.Errorf("line %d: unknown relation %q", n+1, f[4])
		}
	}
	if lines == 0 {
		t.Fatal("policy.csv has no lines")
	}

	perms := policies.Permissions()
	got := make(map[[2]string]bool)
	for _, p := range perms {
		if got[p] {
			t.Errorf("Permissions lists %v twice", p)
		}
		got[p] = true
	}
	for obj, acts := range vocabulary {
		for _, act := range acts {
			if !got[[2]string{obj, act}] {
				t.Errorf("Permissions lacks %s/%s", obj, act)
			}
			delete(got, [2]string{obj, act})
		}
	}
	for p := range got {
		t.Errorf("Permissions has %v outside the vocabulary", p)
	}
}

// Decisions run while grants change; run with -race. Users that are never
// touched must keep their decisions throughout.
func TestConcurrentChanges(t *testing.T) {
	f := newFixture(300, 7)
	a, err := policies.New(f.grants)
	if err != nil {
		t.Fatal(err)
	}
	stable := f.grants[0] // a county agent, never changed
	if stable.Role != policies.RoleCountyAgent {
		t.Fatalf("fixture changed: %+v", stable)
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var decisions atomic.Int64
	errs := make(chan string, 16)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; !stop.Load(); i++ {
				r := f.reqs[i%len(f.reqs)]
				a.Allow(r.user, r.region, r.obj, r.act, r.rel)
				a.RoleMay(r.user, r.obj, r.act)
				a.Grant(r.user)
				if !a.Allow(stable.Username, village(i%nTownships, 0), "case", "review", policies.RelAny) {
					select {
					case errs <- fmt.Sprintf("stable county agent denied during change %d", i):
					default:
					}
				}
				decisions.Add(1)
			}
		}(w)
	}

	mover := f.grants[len(f.grants)-1]
	for i := 0; i < 40; i++ {
		switch i % 4 {
		case 0:
			g := mover
			g.Role, g.Region = policies.RoleTownshipAgent, township(i%nTownships)
			if err := a.SetGrant(g); err != nil {
				t.Error(err)
			}
		case 1:
			a.RemoveGrant(mover.Username)
		case 2:
			if err := a.SetGrant(policies.Grant{Username: fmt.Sprintf("extra%d", i), Role: policies.RoleSupervisor, Region: county}); err != nil {
				t.Error(err)
			}
		case 3:
			if err := a.Reload(f.grants); err != nil {
				t.Error(err)
			}
		}
	}
	// Concurrent writers too.
	var ww sync.WaitGroup
	for w := 0; w < 2; w++ {
		ww.Add(1)
		go func(w int) {
			defer ww.Done()
			for i := 0; i < 10; i++ {
				g := f.grants[len(f.grants)-2-w]
				g.Region = village(i%nTownships, w)
				if err := a.SetGrant(g); err != nil {
					t.Error(err)
				}
				a.RemoveGrant(g.Username)
			}
		}(w)
	}
	ww.Wait()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if decisions.Load() == 0 {
		t.Error("no decisions ran")
	}

	// The final state is exactly what the last changes say.
	a.RemoveGrant(mover.Username)
	if a.Allow(mover.Username, "", "session", "me", policies.RelOwn) {
		t.Error("removed user allowed after the storm")
	}
}
