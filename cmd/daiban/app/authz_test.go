package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/partners"
)

// contractMay is the role table of DESIGN.md written out independently of
// policy.csv, so the test checks the policy rather than restating it.
func contractMay(role, obj, act string) bool {
	switch obj {
	case "session", "region", "matter":
		return act == "me" || act == "read"
	case "notice":
		return true
	case "user", "key", "partner": // partners: the administrator (issue 16)
		return role == "admin"
	case "appointment": // 网上预约 (issue 17): agents keep their centers' bookings
		switch act {
		case "read":
			return role != "village_agent"
		case "confirm":
			return role == "county_agent" || role == "township_agent"
		case "manage":
			return role == "county_agent" || role == "township_agent" || role == "admin"
		}
		return false
	case "report":
		return role == "supervisor" || role == "county_agent" || role == "township_agent"
	case "ledger":
		switch act {
		case "read":
			return role != "village_agent" && role != "admin"
		default:
			return role == "supervisor"
		}
	case "case":
		switch role {
		case "county_agent", "township_agent":
			return act != "supervise"
		case "village_agent":
			return map[string]bool{"read": true, "create": true, "progress": true, "custody": true, "supply": true, "document": true, "issue_notice": true, "ledger": true}[act]
		case "supervisor":
			return act == "read" || act == "supervise" || act == "document" || act == "ledger"
		}
		return false
	}
	return false
}

func TestEveryRouteHasAPolicy(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	known := map[[2]string]bool{}
	for _, p := range policies.Permissions() {
		known[p] = true
	}
	registered := map[string]bool{}
	for _, rt := range env.App.HTTP.Routes() {
		registered[rt.Method+" "+rt.Path] = true
		if rt.Public {
			continue
		}
		if rt.ActParam != "" {
			for _, a := range cases.Actions {
				if !known[[2]string{rt.Obj, a}] {
					t.Errorf("%s %s: action %s has no policy entry", rt.Method, rt.Path, a)
				}
			}
			continue
		}
		if !known[[2]string{rt.Obj, rt.Act}] {
			t.Errorf("%s %s: %s:%s has no policy entry", rt.Method, rt.Path, rt.Obj, rt.Act)
		}
	}
	// Nothing reaches the router except through the guarded route table.
	for _, r := range env.App.HTTP.Echo.Routes() {
		if !registered[r.Method+" "+r.Path] {
			t.Errorf("route %s %s bypasses the route table", r.Method, r.Path)
		}
	}
}

type principal struct {
	user, role, region string
}

// TestAuthorizationMatrix sends every route as every role (and anonymous),
// on a case inside and a case outside the role's scope, and checks the
// answer class: 401 anonymous, 403 a permission the role lacks, 404 a case
// outside its scope, anything else (2xx, 409, 422, 428) when allowed.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	people := []principal{
		{"m.county", "county_agent", "370323"},
		{"m.town", "township_agent", "370323001"},
		{"m.village", "village_agent", "370323001001"},
		{"m.super", "supervisor", "370323001"},
		{"m.admin", "admin", "370323"},
	}
	for _, p := range people {
		env.User(t, p.user, p.role, p.region)
	}
	env.User(t, "m.other", "township_agent", "370323101")
	// The inside case: opened by the village agent in its village.
	inside, _ := env.CreateCase(t, env.Token(t, "m.village"), "370323001001", "GT001")
	// The outside case: another township's.
	outside, _ := env.CreateCase(t, env.Token(t, "m.other"), "370323101201", "GT001")

	// One sealed document on each case, for the document routes.
	docOf := map[int64]int64{}
	for _, id := range []int64{inside, outside} {
		r := env.Do(t, env.Token(t, "m.county"), http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", id), nil, nil).Must(t, 201)
		docOf[id] = int64(r.JSON["document_id"].(float64))
	}

	// A 督办 note on the inside case makes a notice to its creator, the
	// village agent: a resource of one user, not found by anyone else.
	sc := env.Do(t, env.Token(t, "m.super"), http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", inside), nil, nil).Must(t, 200)
	env.Act(t, env.Token(t, "m.super"), inside, int(sc.JSON["version"].(float64)), "supervise", map[string]any{"note": "请加快办理"}).Must(t, 200)
	var noticeID int64
	if err := env.Pool.QueryRow(t.Context(), "SELECT id FROM notices WHERE recipient = 'm.village'").Scan(&noticeID); err != nil {
		t.Fatal(err)
	}

	if _, _, err := env.App.Partners.Add(t.Context(), "m.admin", "m.partner", partners.SMS, ""); err != nil {
		t.Fatal(err)
	}

	type probe struct {
		method, path, obj, act string
		caseID                 int64  // 0: not a case route
		owner                  string // a user's own resource: 404 to the others
	}
	var probes []probe
	for _, rt := range env.App.HTTP.Routes() {
		if rt.Public || rt.Path == "/api/v1/logout" || rt.Path == "/logout" { // logout is tested on its own: it would end the probe's session
			continue
		}
		acts := []string{rt.Act}
		if rt.ActParam != "" {
			acts = cases.Actions
		}
		for _, act := range acts {
			path := strings.ReplaceAll(rt.Path, ":action", act)
			path = strings.ReplaceAll(path, ":username", "m.town")
			if strings.HasPrefix(path, "/api/v1/appointments/:code") {
				// No booking has this code: 404 to whoever may act at all.
				probes = append(probes, probe{rt.Method, strings.ReplaceAll(path, ":code", "NOSUCHCODE"), rt.Obj, act, 0, "(no such booking)"})
				continue
			}
			path = strings.ReplaceAll(path, ":code", "GT001")
			path = strings.ReplaceAll(path, ":name", "m.partner")
			if strings.HasPrefix(path, "/api/v1/notices/") || strings.HasPrefix(path, "/notices/:id") {
				probes = append(probes, probe{rt.Method, strings.ReplaceAll(path, ":id", fmt.Sprint(noticeID)), rt.Obj, act, 0, "m.village"})
				continue
			}
			if strings.HasPrefix(path, "/api/v1/notifications/") || strings.HasPrefix(path, "/notifications/") { // the outbox: the administrator's, not scoped by case
				probes = append(probes, probe{rt.Method, strings.ReplaceAll(path, ":id", "1"), rt.Obj, act, 0, ""})
				continue
			}
			if strings.Contains(path, ":id") {
				for _, id := range []int64{inside, outside} {
					param := id
					if strings.HasPrefix(path, "/api/v1/documents/") {
						param = docOf[id]
					}
					probes = append(probes, probe{rt.Method, strings.ReplaceAll(path, ":id", fmt.Sprint(param)), rt.Obj, act, id, ""})
				}
				continue
			}
			probes = append(probes, probe{rt.Method, path, rt.Obj, act, 0, ""})
		}
	}
	if len(probes) < 40 {
		t.Fatalf("only %d probes: route table not wired?", len(probes))
	}
	for _, pr := range probes {
		body := any(map[string]any{})
		if pr.method == http.MethodGet {
			body = nil
		}
		headers := map[string]string{"If-Match": `"999"`}
		r := env.Do(t, "", pr.method, pr.path, body, headers)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d, want 401", pr.method, pr.path, r.Status)
		}
		for _, p := range people {
			r := env.Do(t, env.Token(t, p.user), pr.method, pr.path, body, headers)
			may := contractMay(p.role, pr.obj, pr.act)
			inScope := true
			if pr.caseID == outside {
				inScope = p.role == "county_agent"
			}
			if pr.owner != "" {
				inScope = p.user == pr.owner
			}
			var want string
			switch {
			case !may:
				want = "403"
			case !inScope:
				want = "404"
			default:
				want = "allowed"
			}
			got := fmt.Sprint(r.Status)
			if r.Status != 403 && r.Status != 404 && r.Status != 401 {
				got = "allowed"
			}
			if r.Status >= 500 {
				t.Errorf("%s %s %s: %d %s", p.role, pr.method, pr.path, r.Status, r.Body)
			}
			if got != want {
				t.Errorf("%s %s %s: got %d (%s), want %s", p.role, pr.method, pr.path, r.Status, r.Body, want)
			}
		}
	}
	// Every refusal is logged.
	if !strings.Contains(env.Logs.String(), `"msg":"request denied"`) {
		t.Error("refusals are not logged")
	}
}

// TestListsAreScoped checks that lists show exactly what the guard would
// let each role open.
func TestListsAreScoped(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "l.county", "county_agent", "370323")
	env.User(t, "l.town", "township_agent", "370323001")
	env.User(t, "l.village", "village_agent", "370323001001")
	env.User(t, "l.village2", "village_agent", "370323001001")
	env.User(t, "l.super", "supervisor", "370323001")
	env.User(t, "l.other", "township_agent", "370323101")
	own, _ := env.CreateCase(t, env.Token(t, "l.village"), "370323001001", "GT001")
	sameVillage, _ := env.CreateCase(t, env.Token(t, "l.village2"), "370323001001", "GT001")
	town, _ := env.CreateCase(t, env.Token(t, "l.town"), "370323001", "SP001")
	other, _ := env.CreateCase(t, env.Token(t, "l.other"), "370323101201", "GT001")
	want := map[string][]int64{
		"l.county":  {other, town, sameVillage, own},
		"l.town":    {town, sameVillage, own},
		"l.village": {own},
		"l.super":   {town, sameVillage, own},
		"l.other":   {other},
	}
	for user, ids := range want {
		r := env.Do(t, env.Token(t, user), http.MethodGet, "/api/v1/cases", nil, nil).Must(t, http.StatusOK)
		var got []int64
		for _, it := range r.JSON["items"].([]any) {
			got = append(got, int64(it.(map[string]any)["id"].(float64)))
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s lists %v, want %v", user, got, ids)
		}
		for _, id := range ids {
			env.Do(t, env.Token(t, user), http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, http.StatusOK)
		}
	}
	// The village agent assigned to a case sees it from then on.
	v := env.Do(t, env.Token(t, "l.town"), http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", sameVillage), nil, nil).Must(t, 200)
	env.Act(t, env.Token(t, "l.town"), sameVillage, int(v.JSON["version"].(float64)), "assign", map[string]any{"agent": "l.village"}).Must(t, 200)
	env.Do(t, env.Token(t, "l.village"), http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", sameVillage), nil, nil).Must(t, 200)
}

// TestGrantChangeTakesEffectAtOnce moves a township agent to another
// township through the admin API; its very next request is decided by the
// new grant.
func TestGrantChangeTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "g.admin", "admin", "370323")
	env.User(t, "g.town", "township_agent", "370323001")
	id, _ := env.CreateCase(t, env.Token(t, "g.town"), "370323001001", "GT001")
	path := fmt.Sprintf("/api/v1/cases/%d", id)
	env.Do(t, env.Token(t, "g.town"), http.MethodGet, path, nil, nil).Must(t, http.StatusOK)
	env.Do(t, env.Token(t, "g.admin"), http.MethodPatch, "/api/v1/users/g.town", map[string]any{"region": "370323101"}, nil).Must(t, http.StatusOK)
	env.Do(t, env.Token(t, "g.town"), http.MethodGet, path, nil, nil).Must(t, http.StatusNotFound)
	env.Do(t, env.Token(t, "g.admin"), http.MethodPatch, "/api/v1/users/g.town", map[string]any{"role": "supervisor", "region": "370323"}, nil).Must(t, http.StatusOK)
	env.Do(t, env.Token(t, "g.town"), http.MethodGet, path, nil, nil).Must(t, http.StatusOK)
	r := env.Act(t, env.Token(t, "g.town"), id, 1, "review", map[string]any{"result": "decline", "note": "x"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("supervisor review: %d, want 403", r.Status)
	}
	env.Do(t, env.Token(t, "g.admin"), http.MethodPatch, "/api/v1/users/g.town", map[string]any{"disabled": true}, nil).Must(t, http.StatusOK)
	env.Do(t, env.Token(t, "g.town"), http.MethodGet, path, nil, nil).Must(t, http.StatusUnauthorized)
}
