// Package policies holds daiban's authorization model and role permissions
// (model.conf and policy.csv, embedded) and an Authorizer that answers
// "may this user do act on obj in that region?" with Casbin.
//
// Role permissions come from policy.csv. Who holds which role where (the
// grants) comes from the users table and is handed in through New, SetGrant,
// RemoveGrant and Reload; each user holds exactly one role in one region.
//
// Region scope is part of the Casbin model: the matcher ends in
// g(r.sub, p.sub, r.home) && within(r.dom, r.home), so a grant at region H
// covers every resource region that has H as a prefix (the region tree is
// encoded by code prefix: county 370323, township 370323001, village
// 370323001201) and every regionless request (region ""). Casbin makes every
// decision; nothing caches decisions across grant changes.
//
// Concurrency: a Casbin enforcer is never mutated after it is published.
// A snapshot holds one enforcer per role (see snapshot) and the user index;
// every grant change builds a new snapshot — rebuilding only the enforcers
// of the roles it touches and sharing the others — and swaps it in with an
// atomic pointer. Decisions never take a lock and never see a half-applied
// change; a change is visible to every decision that starts after the call
// returns. Grant changes are serialised by a mutex.
package policies

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

//go:embed model.conf
var modelText string

//go:embed policy.csv
var policyText string

// Relations a request can carry.
const (
	// RelOwn: the user created the resource or is assigned to it.
	RelOwn = "own"
	// RelAny: any other resource (inside the user's region).
	RelAny = "any"
)

// Role is a staff role. Every user holds one role in one region; the role
// names are the ones policy.csv and the users table use.
type Role string

// The five staff roles.
const (
	RoleCountyAgent   Role = "county_agent"
	RoleTownshipAgent Role = "township_agent"
	RoleVillageAgent  Role = "village_agent"
	RoleSupervisor    Role = "supervisor"
	RoleAdmin         Role = "admin"
)

// Roles lists the five staff roles.
var Roles = []Role{RoleCountyAgent, RoleTownshipAgent, RoleVillageAgent, RoleSupervisor, RoleAdmin}

// JoinRoles returns the role names joined by sep, for messages and help.
func JoinRoles(sep string) string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return strings.Join(names, sep)
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// IsAgent reports whether r is an agent's role (county, township or
// village): the roles that work on cases and can be assigned one.
func (r Role) IsAgent() bool {
	switch r {
	case RoleCountyAgent, RoleTownshipAgent, RoleVillageAgent:
		return true
	}
	return false
}

// Label is the role's name in Chinese, as the pages show it ("" for an
// unknown role).
func (r Role) Label() string { return roleLabels[r] }

var roleLabels = map[Role]string{
	RoleCountyAgent:   "县级帮办代办员",
	RoleTownshipAgent: "镇街帮办代办员",
	RoleVillageAgent:  "村代办员",
	RoleSupervisor:    "督查员",
	RoleAdmin:         "系统管理员",
}

// RegionContains reports whether region r lies inside (or is) region home.
// Region codes nest by prefix (county 370323, township 370323001, village
// 370323001201), so this is the whole scope rule, and the only place it is
// written in Go; SQL uses the same test (left(code, length(home)) = home).
// An empty home contains nothing.
func RegionContains(home, r string) bool {
	return home != "" && strings.HasPrefix(r, home)
}

// Grant is one user's role and home region.
type Grant struct {
	Username string
	Role     Role
	Region   string
}

// Validate checks that the grant names a user, a known role and a region code
// (digits only, non-empty).
func (g Grant) Validate() error {
	if g.Username == "" {
		return errors.New("policies: grant without username")
	}
	if !g.Role.Valid() {
		return fmt.Errorf("policies: grant for %q: unknown role %q", g.Username, g.Role)
	}
	if g.Region == "" {
		return fmt.Errorf("policies: grant for %q: empty region", g.Username)
	}
	for i := 0; i < len(g.Region); i++ {
		if c := g.Region[i]; c < '0' || c > '9' {
			return fmt.Errorf("policies: grant for %q: region %q is not a region code", g.Username, g.Region)
		}
	}
	return nil
}

// policyRule is one parsed line of policy.csv.
type policyRule struct {
	role Role
	obj  string
	acts []string
	rel  string
}

// parsePolicy parses policy.csv: "p, role, obj, acts, rel" lines (acts is a
// '|'-separated list), blank lines and '#' comments. It rejects unknown
// roles and relations, empty names and any (role, obj, act, rel) given twice.
func parsePolicy(text string) ([]policyRule, error) {
	var rules []policyRule
	seen := make(map[[4]string]bool)
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) != 5 || f[0] != "p" {
			return nil, fmt.Errorf("policies: policy.csv line %d: want \"p, role, obj, acts, rel\", got %q", n+1, line)
		}
		r := policyRule{role: Role(f[1]), obj: f[2], acts: strings.Split(f[3], "|"), rel: f[4]}
		if !r.role.Valid() {
			return nil, fmt.Errorf("policies: policy.csv line %d: unknown role %q", n+1, r.role)
		}
		if !isName(r.obj) {
			return nil, fmt.Errorf("policies: policy.csv line %d: bad object %q", n+1, r.obj)
		}
		if r.rel != RelOwn && r.rel != RelAny {
			return nil, fmt.Errorf("policies: policy.csv line %d: relation %q is neither own nor any", n+1, r.rel)
		}
		for _, act := range r.acts {
			if !isName(act) {
				return nil, fmt.Errorf("policies: policy.csv line %d: bad action %q", n+1, act)
			}
			k := [4]string{string(r.role), r.obj, act, r.rel}
			if seen[k] {
				return nil, fmt.Errorf("policies: policy.csv line %d: %s may %s %s (%s) twice", n+1, r.role, act, r.obj, r.rel)
			}
			seen[k] = true
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("policies: policy.csv has no rules")
	}
	return rules, nil
}

// isName reports whether s is a non-empty lower-case identifier.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// oneOf reports whether act is one of the '|'-separated actions in acts,
// without allocating.
func oneOf(act, acts string) bool {
	for acts != "" {
		i := strings.IndexByte(acts, '|')
		if i < 0 {
			return acts == act
		}
		if acts[:i] == act {
			return true
		}
		acts = acts[i+1:]
	}
	return false
}

// embedded is the parsed model and policy, shared by every build.
var embedded = sync.OnceValues(func() (*embeddedPolicy, error) {
	// Parse once here only to report a broken model.conf early; every build
	// parses its own copy (model.Model.Copy drops some assertion fields).
	if _, err := model.NewModelFromString(modelText); err != nil {
		return nil, fmt.Errorf("policies: model.conf: %w", err)
	}
	rules, err := parsePolicy(policyText)
	if err != nil {
		return nil, err
	}
	ep := &embeddedPolicy{byRole: make(map[Role][][]string)}
	seen := make(map[[2]string]bool)
	for _, r := range rules {
		ep.byRole[r.role] = append(ep.byRole[r.role], []string{string(r.role), r.obj, strings.Join(r.acts, "|"), r.rel})
		for _, act := range r.acts {
			k := [2]string{r.obj, act}
			if !seen[k] {
				seen[k] = true
				ep.perms = append(ep.perms, k)
			}
		}
	}
	return ep, nil
})

type embeddedPolicy struct {
	byRole map[Role][][]string // role -> its p lines, in file order
	perms  [][2]string         // distinct (obj, act) pairs in file order
}

// Permissions returns every distinct (obj, act) pair that appears in
// policy.csv, in file order. It returns nil if the embedded policy is broken
// (New reports the error).
func Permissions() [][2]string {
	ep, err := embedded()
	if err != nil {
		return nil
	}
	out := make([][2]string, len(ep.perms))
	copy(out, ep.perms)
	return out
}

// snapshot is an immutable set of enforcers plus the index of their
// grouping lines.
//
// It holds one enforcer per role, all with the same model; each gets that
// role's policy.csv lines and the grants of the users holding that role. A
// decision is routed to the enforcer of the user's role. This is only an
// index: a line of another role can never match (the matcher's g(user,
// p.sub, home) fails for it), so skipping those lines changes no decision,
// but Casbin evaluates the matcher once per line, and scanning 6-7 lines
// instead of 33 cuts the cost of a decision by more than half.
type snapshot struct {
	enf map[Role]*casbin.Enforcer
	// home maps user -> grant. It is derived from the enforcers' g lines
	// after they are loaded and is read-only afterwards.
	home map[string]Grant
}

// build makes a snapshot for grants. The enforcers of the roles in keep are
// taken over from prev unchanged (enforcers are never mutated once
// published, so two snapshots may share one); the others are built fresh.
func build(grants map[string]Grant, prev *snapshot, keep map[Role]bool) (*snapshot, error) {
	ep, err := embedded()
	if err != nil {
		return nil, err
	}
	byRole := make(map[Role][][]string, len(Roles))
	for _, gr := range grants {
		if keep[gr.Role] {
			continue
		}
		byRole[gr.Role] = append(byRole[gr.Role], []string{gr.Username, string(gr.Role), gr.Region})
	}
	s := &snapshot{
		enf:  make(map[Role]*casbin.Enforcer, len(Roles)),
		home: make(map[string]Grant, len(grants)),
	}
	for _, role := range Roles {
		enf := prev.enforcer(role, keep)
		if enf == nil {
			if enf, err = newEnforcer(ep.byRole[role], byRole[role]); err != nil {
				return nil, fmt.Errorf("policies: %s: %w", role, err)
			}
		}
		s.enf[role] = enf

		// Index the grouping lines Casbin holds. Allow states the user's
		// home region in the request from this index; the matcher
		// re-checks it with g().
		lines, err := enf.GetGroupingPolicy()
		if err != nil {
			return nil, fmt.Errorf("policies: %s: read grants back: %w", role, err)
		}
		for _, l := range lines {
			if len(l) != 3 || Role(l[1]) != role {
				return nil, fmt.Errorf("policies: %s: malformed grouping line %q", role, l)
			}
			if _, dup := s.home[l[0]]; dup {
				return nil, fmt.Errorf("policies: user %q holds more than one grant", l[0])
			}
			s.home[l[0]] = Grant{Username: l[0], Role: role, Region: l[2]}
		}
	}
	if len(s.home) != len(grants) {
		return nil, fmt.Errorf("policies: %d grants given, %d loaded", len(grants), len(s.home))
	}
	return s, nil
}

// enforcer returns prev's enforcer for role if role is to be kept.
func (s *snapshot) enforcer(role Role, keep map[Role]bool) *casbin.Enforcer {
	if s == nil || !keep[role] {
		return nil
	}
	return s.enf[role]
}

// newEnforcer builds one enforcer from the embedded model with the given
// policy lines and grouping lines.
func newEnforcer(plines, glines [][]string) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("model.conf: %w", err)
	}
	enf, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("new enforcer: %w", err)
	}
	// oneOf(act, acts): act is one of the '|'-separated actions of a line.
	enf.AddFunction("oneOf", func(args ...interface{}) (interface{}, error) {
		if len(args) != 2 {
			return nil, errors.New("oneOf(act, acts) takes two arguments")
		}
		act, _ := args[0].(string)
		acts, _ := args[1].(string)
		return oneOf(act, acts), nil
	})
	// within(dom, home): the resource region dom lies in the subtree rooted
	// at home (home is a prefix of dom), or the request has no region.
	enf.AddFunction("within", func(args ...interface{}) (interface{}, error) {
		if len(args) != 2 {
			return nil, errors.New("within(dom, home) takes two arguments")
		}
		dom, _ := args[0].(string)
		home, _ := args[1].(string)
		return within(dom, home), nil
	})
	if len(plines) > 0 {
		if ok, err := enf.AddPolicies(plines); err != nil || !ok {
			return nil, fmt.Errorf("load policy.csv: added=%v err=%v", ok, err)
		}
	}
	if len(glines) > 0 {
		if ok, err := enf.AddGroupingPolicies(glines); err != nil || !ok {
			return nil, fmt.Errorf("load grants: added=%v err=%v", ok, err)
		}
	}
	return enf, nil
}

// within reports whether region dom lies inside home (RegionContains), or
// the object has no region (dom == ""). An empty home covers nothing (it
// only arises for unknown users).
func within(dom, home string) bool {
	if dom == "" {
		return home != ""
	}
	return RegionContains(home, dom)
}

// Authorizer answers authorization questions. It is safe for concurrent use.
type Authorizer struct {
	cur atomic.Pointer[snapshot]
	mu  sync.Mutex // serialises grant changes (builds)
}

// New builds an Authorizer from the embedded model and policy and the given
// grants (one per user).
func New(grants []Grant) (*Authorizer, error) {
	m, err := grantMap(grants)
	if err != nil {
		return nil, err
	}
	s, err := build(m, nil, nil)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{}
	a.cur.Store(s)
	return a, nil
}

func grantMap(grants []Grant) (map[string]Grant, error) {
	m := make(map[string]Grant, len(grants))
	for _, g := range grants {
		if err := g.Validate(); err != nil {
			return nil, err
		}
		if _, dup := m[g.Username]; dup {
			return nil, fmt.Errorf("policies: user %q appears in more than one grant", g.Username)
		}
		m[g.Username] = g
	}
	return m, nil
}

// Allow reports whether username may do act on obj for a resource in region
// ("" for objects without a region) with relation rel: "own" when the user
// created or is assigned to the resource, anything else counts as "any".
// Unknown users are denied.
func (a *Authorizer) Allow(username, region, obj, act, rel string) bool {
	if rel != RelOwn {
		rel = RelAny
	}
	return a.cur.Load().enforce(username, region, obj, act, rel)
}

// enforce asks the enforcer of the user's role. The request states the
// user's home region (from the g lines of that same enforcer); the matcher
// only trusts it after g() confirms the link (user, role, home).
func (s *snapshot) enforce(username, region, obj, act, rel string) bool {
	g, ok := s.home[username]
	if !ok {
		// No grouping line: Casbin would deny too. Answering here keeps
		// arbitrary names out of the enforcers' g() memo.
		return false
	}
	ok, err := s.enf[g.Role].Enforce(username, g.Region, region, obj, act, rel)
	return err == nil && ok
}

// RoleMay reports whether the user's role may do act on obj at all, in some
// region with some relation. It asks the model the widest question it can
// grant: the user's own resource in the user's home region. Handlers use it
// to choose 403 (the role never may) over 404 (it may, but not on this
// resource).
func (a *Authorizer) RoleMay(username, obj, act string) bool {
	s := a.cur.Load()
	g, ok := s.home[username]
	if !ok {
		return false
	}
	return s.enforce(username, g.Region, obj, act, RelOwn)
}

// Grant returns the user's current grant.
func (a *Authorizer) Grant(username string) (Grant, bool) {
	g, ok := a.cur.Load().home[username]
	return g, ok
}

// SetGrant adds or replaces one user's role and region. It is effective for
// every Allow that starts after it returns. Only the enforcers of the
// user's old and new role are rebuilt.
func (a *Authorizer) SetGrant(g Grant) error {
	if err := g.Validate(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.cur.Load()
	old, had := prev.home[g.Username]
	if had && old == g {
		return nil
	}
	m := cloneGrants(prev.home)
	m[g.Username] = g
	s, err := build(m, prev, keepAllBut(g.Role, old.Role))
	if err != nil {
		return err
	}
	a.cur.Store(s)
	return nil
}

// RemoveGrant removes the user's grant; the user is denied everything from
// the moment it returns.
func (a *Authorizer) RemoveGrant(username string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.cur.Load()
	old, had := prev.home[username]
	if !had {
		return
	}
	m := cloneGrants(prev.home)
	delete(m, username)
	s, err := build(m, prev, keepAllBut(old.Role))
	if err != nil {
		// Cannot happen with the embedded policy New accepted. Fail
		// closed anyway: a user missing from the index is denied
		// everything before any enforcer is asked.
		s = &snapshot{enf: prev.enf, home: m}
	}
	a.cur.Store(s)
}

// Reload replaces all grants. On error the previous grants stay in force.
func (a *Authorizer) Reload(grants []Grant) error {
	m, err := grantMap(grants)
	if err != nil {
		return err
	}
	// Build outside the lock; publishing under it orders the swap after
	// any SetGrant/RemoveGrant in flight, so this Reload wins.
	s, err := build(m, nil, nil)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.cur.Store(s)
	a.mu.Unlock()
	return nil
}

func cloneGrants(src map[string]Grant) map[string]Grant {
	m := make(map[string]Grant, len(src)+1)
	for k, v := range src {
		m[k] = v
	}
	return m
}

// keepAllBut returns the set of roles whose enforcers a change leaves alone.
func keepAllBut(changed ...Role) map[Role]bool {
	keep := make(map[Role]bool, len(Roles))
	for _, r := range Roles {
		keep[r] = true
	}
	for _, r := range changed {
		delete(keep, r)
	}
	return keep
}
