package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// deskItem is one case in a queue or a search result.
type deskItem struct {
	ID        int64
	Number    string
	Title     string
	Applicant string
	Phone     string
	Handler   string
	State     cases.State
	Due       string
	Note      string
	Late      bool
}

// bucket is one queue of the desk.
type bucket struct {
	Key, Name, Hint string
	Items           []deskItem
	More            bool // the list was cut at its limit
}

type deskData struct {
	All      bool // the whole region's queues, not only the user's own
	Q        string
	Searched bool
	Results  []deskItem
	Buckets  []bucket
}

// queueLimit bounds each list of the desk.
const queueLimit = 100

var phoneLike = regexp.MustCompile(`^[0-9-]{7,13}$`)

// desk is the agent's 工作台: the queues that need the agent (new cases
// not yet accepted, due soon, overdue, waiting on a higher authority,
// ready for handover) with their counts, and search by case number,
// applicant name or phone. "Mine" means the cases the user handles: its
// assignee, or its creator while nobody is assigned (as the supervision
// lists count a handler).
func (p *Pages) desk(c echo.Context) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	d := deskData{All: c.QueryParam("all") == "1", Q: strings.TrimSpace(c.QueryParam("q"))}
	if utf8.RuneCountInString(d.Q) > 50 {
		d.Q = string([]rune(d.Q)[:50])
	}
	// Village agents see only their own cases (their role reads "own").
	ownOnly := !p.Authz.Allow(pr.Username, pr.Region, "case", "read", policies.RelAny)
	if d.Q != "" {
		d.Searched = true
		f := cases.Filter{Scope: pr.Region, Username: pr.Username, OwnOnly: ownOnly, Limit: 50}
		if phoneLike.MatchString(d.Q) {
			f.Phone = d.Q
		} else {
			f.Q = d.Q
		}
		list, err := p.Cases.List(ctx, f)
		if err != nil {
			return err
		}
		for _, cs := range list {
			d.Results = append(d.Results, p.listItem(cs))
		}
	}
	mine := func(handler string) bool { return d.All || handler == pr.Username }

	rep, err := p.Supervision.Build(ctx, pr.Region)
	if err != nil {
		return err
	}
	newCases, err := p.queue(ctx, pr, ownOnly, mine, cases.Consultation, cases.AwaitingMaterials, cases.AgreementPending)
	if err != nil {
		return err
	}
	ready, err := p.queue(ctx, pr, ownOnly, mine, cases.ReadyForHandover)
	if err != nil {
		return err
	}
	soon := bucket{Key: "due-soon", Name: "即将到期", Hint: "3 个工作日内到期"}
	for _, it := range rep.DueSoon {
		if mine(it.Handler) {
			note := fmt.Sprintf("还剩 %d 个工作日", it.WorkdaysLeft)
			if it.WorkdaysLeft == 0 {
				note = "今天到期"
			}
			soon.Items = append(soon.Items, deskItem{ID: it.ID, Number: it.Number, Title: it.Title, Applicant: it.Applicant.Name, Handler: it.Handler, State: cases.State(it.State), Due: it.DueDate, Note: note})
		}
	}
	overdue := bucket{Key: "overdue", Name: "已超期", Hint: "超过承诺时限仍未办结"}
	for _, it := range rep.Overdue {
		if mine(it.Handler) {
			overdue.Items = append(overdue.Items, deskItem{ID: it.ID, Number: it.Number, Title: it.Title, Applicant: it.Applicant.Name, Handler: it.Handler, State: cases.State(it.State), Due: it.DueDate,
				Note: fmt.Sprintf("超期 %d 个工作日", it.WorkdaysOverdue), Late: true})
		}
	}
	waiting := bucket{Key: "escalated", Name: "等待上级", Hint: "已转报上级机关，跟踪回复"}
	for _, it := range rep.Escalated {
		if mine(it.Handler) || it.Tracker == pr.Username {
			note := fmt.Sprintf("%s · %s，回复期限 %s", it.LevelName, it.Authority, it.ReplyDue)
			if it.Overdue {
				note += "（已逾期）"
			}
			waiting.Items = append(waiting.Items, deskItem{ID: it.ID, Number: it.Number, Title: it.Title, Applicant: it.Applicant.Name, Handler: it.Handler, State: cases.State(it.State), Due: it.DueDate, Note: note, Late: it.Overdue})
		}
	}
	newCases.Key, newCases.Name, newCases.Hint = "new", "新接待", "接待咨询、待补材料、待签协议"
	ready.Key, ready.Name, ready.Hint = "ready", "待交付", "结果已出，待申请人签收"
	d.Buckets = []bucket{newCases, soon, overdue, waiting, ready}
	return p.Render(c, http.StatusOK, "desk", view{Title: "工作台", Data: d})
}

// queue lists the cases in the given states that the desk shows.
func (p *Pages) queue(ctx context.Context, pr httpapi.Principal, ownOnly bool, mine func(string) bool, states ...cases.State) (bucket, error) {
	var b bucket
	for _, st := range states {
		list, err := p.Cases.List(ctx, cases.Filter{Scope: pr.Region, Username: pr.Username, OwnOnly: ownOnly, State: string(st), Limit: queueLimit})
		if err != nil {
			return b, err
		}
		b.More = b.More || len(list) == queueLimit
		for _, cs := range list {
			if mine(handlerOf(cs)) {
				b.Items = append(b.Items, p.listItem(cs))
			}
		}
	}
	return b, nil
}

// handlerOf is who handles a case: its assignee, else its creator.
func handlerOf(cs cases.Case) string {
	if cs.Assignee != "" {
		return cs.Assignee
	}
	return cs.CreatedBy
}

// listItem shows a case in a list: phone and ID masked, as every list.
func (p *Pages) listItem(cs cases.Case) deskItem {
	it := deskItem{ID: cs.ID, Number: cs.Number, Title: cs.Title, Applicant: cs.Applicant.Name, Phone: cases.MaskPhone(cs.Applicant.Phone),
		Handler: handlerOf(cs), State: cs.State, Due: cs.DueDate}
	if cs.DueDate != "" && cs.State.ClockRuns() && cs.DueDate < p.today() {
		it.Late, it.Note = true, "已超期"
	}
	return it
}
