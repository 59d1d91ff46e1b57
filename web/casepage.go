package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/users"
)

// casePage is the case page: the case, its timeline from the ledger, and
// a form for each action that both the case's state (cases.ActionsFrom)
// and the user's permission allow.
type casePage struct {
	Case cases.CaseView
	// Actions are the actions offered, in the state machine's order.
	Actions []string
	// Can holds the user's other permissions on the case: custody,
	// issue_notice, agreement, handover, document.
	Can       map[string]bool
	Materials []materialRow
	Agents    []agentOption // who may be assigned or track an escalation
	Today     string
	// Late is set when the due date or the escalation's reply date passed.
	Late, ReplyLate bool
	CSRF            string
	Me              string
	names           map[string]string
	failed          *form
	forms           map[string]*form
	// MatterNames names the matters of a 一件事 case (its progress table
	// and the progress form's choice of matter).
	MatterNames map[string]string
}

// materialRow is a required material with its original's custody.
type materialRow struct {
	cases.Material
	HolderName string
	// CanMove is set when the user may record a hand-over of the original
	// now: it holds it, or the applicant or a department does.
	CanMove bool
	Moves   []cases.CustodyMove
}

type agentOption struct{ Username, Label string }

// Form returns the named form: the one that just failed (with what was
// typed and what to fix) or a fresh one with its defaults.
func (cp *casePage) Form(name string) *form {
	if cp.failed != nil && cp.failed.Name == name {
		cp.failed.CSRF, cp.failed.Version = cp.CSRF, cp.Case.Version
		return cp.failed
	}
	if f, ok := cp.forms[name]; ok {
		return f
	}
	f := blankForm(name, cp.CSRF)
	f.Version = cp.Case.Version
	switch {
	case name == cases.ActReview || name == cases.ActSupply:
		for _, m := range cp.Case.Materials {
			if m.Received {
				f.Values.Set("received."+m.Code, "1")
				f.Values.Set("pages."+m.Code, strconv.Itoa(m.Pages))
			}
			if m.Original {
				f.Values.Set("original."+m.Code, "1")
			}
		}
	case name == cases.ActProgress:
		f.Values.Set("notify_applicant", "1")
	case name == cases.ActEscalate:
		f.Values.Set("tracker", cp.Me)
	case name == cases.ActAssign:
		f.Values.Set("agent", cp.Case.Assignee)
	case name == cases.ActTerminate:
		f.Values.Set("by", "applicant")
	case strings.HasPrefix(name, "custody-"):
		for _, m := range cp.Case.Materials {
			if "custody-"+m.Code == name {
				f.Values.Set("count", strconv.Itoa(max(m.RequiredCount, 1)))
			}
		}
	}
	cp.forms[name] = f
	return f
}

// Failed is the name of the form that failed, if any (its panel opens).
func (cp *casePage) Failed() string {
	if cp.failed == nil {
		return ""
	}
	return cp.failed.Name
}

// Name shows a username as "name（username）" when the user is known.
func (cp *casePage) Name(username string) string {
	if username == "applicant" {
		return "申请人"
	}
	if n, ok := cp.names[username]; ok {
		return n + "（" + username + "）"
	}
	return holderName(username)
}

// actionForm is what an action's form template gets.
type actionForm struct {
	CP     *casePage
	Action string
	// Spec is the action's description: its form template, fields and
	// choices.
	Spec cases.Action
	F    *form
	Open bool
}

// For prepares the form of an action.
func (cp *casePage) For(action string) actionForm {
	f := cp.Form(action)
	spec, _ := cases.ActionSpec(action)
	return actionForm{CP: cp, Action: action, Spec: spec, F: f, Open: cp.Failed() == action}
}

// ResultRows are the rows of the results form.
func (cp *casePage) ResultRows() []string { return []string{"0", "1", "2", "3"} }

func (p *Pages) casePage(c echo.Context) error {
	return p.renderCase(c, http.StatusOK, nil)
}

// renderCase shows the case page; failed is the form to show again with
// its messages, status the answer's status.
func (p *Pages) renderCase(c echo.Context, status int, failed *form) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	cs, err := p.Cases.Get(ctx, caseID(c))
	if err != nil {
		return err
	}
	cp, err := p.buildCase(ctx, pr, cs)
	if err != nil {
		return err
	}
	cp.failed = failed
	if cp.MatterNames, err = p.matterNames(ctx, cs.Matters); err != nil {
		return err
	}
	return p.Render(c, status, "case", view{Title: "案件 " + cs.Number, Data: cp})
}

func (p *Pages) buildCase(ctx context.Context, pr httpapi.Principal, cs cases.Case) (*casePage, error) {
	me := pr.Username
	rel := policies.RelAny
	if cs.CreatedBy == me || cs.Assignee == me {
		rel = policies.RelOwn
	}
	can := func(act string) bool { return p.Authz.Allow(me, cs.Region, "case", act, rel) }
	// Only an agent who may act on the case sees ID and phone in full (as
	// the API shows them).
	full := p.Authz.RoleMay(me, "case", "progress")
	cp := &casePage{Case: cases.View(cs, full), Can: map[string]bool{}, Today: p.today(), CSRF: pr.CSRFToken, Me: me, forms: map[string]*form{}}
	for _, a := range cases.ActionsFrom(cs.State, cs.PausedFrom) {
		if a == cases.ActEvaluate && cs.Rating != 0 {
			continue
		}
		if can(a) {
			cp.Actions = append(cp.Actions, a)
		}
	}
	for _, a := range []string{"custody", "issue_notice", "agreement", "handover", "document"} {
		cp.Can[a] = can(a)
	}
	cp.Late = cs.DueDate != "" && cs.State.ClockRuns() && cs.DueDate < cp.Today
	if e := cs.Escalation; e != nil {
		cp.ReplyLate = e.ReplyDue < cp.Today
	}
	staff, err := p.Users.List(ctx, countyOf(cs.Region))
	if err != nil {
		return nil, err
	}
	cp.names, cp.Agents = staffOf(staff, cs.Region)
	for _, m := range cs.Materials {
		row := materialRow{Material: m, HolderName: cp.Name(m.Holder)}
		// Custody is about originals: copies are not handed back and forth.
		row.CanMove = cp.Can["custody"] && cs.State.Open() && (m.RequiredOriginal || m.Original) &&
			(m.Holder == "applicant" || m.Holder == me || strings.HasPrefix(m.Holder, "department:"))
		for _, mv := range cs.Custody {
			if mv.Material == m.Code {
				row.Moves = append(row.Moves, mv)
			}
		}
		cp.Materials = append(cp.Materials, row)
	}
	return cp, nil
}

// countyOf is the county code a region lies in.
func countyOf(region string) string {
	if len(region) >= 6 {
		return region[:6]
	}
	return region
}

// staffOf returns every staff user's name, and the agents who may work on
// a case in region (assign, track an escalation, take an original).
func staffOf(staff []users.User, region string) (map[string]string, []agentOption) {
	names := map[string]string{}
	var agents []agentOption
	for _, u := range staff {
		names[u.Username] = u.Name
		if u.Role.IsAgent() && !u.Disabled && policies.RegionContains(u.Region, region) {
			agents = append(agents, agentOption{Username: u.Username, Label: u.Name + "（" + u.Role.Label() + "）"})
		}
	}
	return names, agents
}
