package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/regions"
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
	// Total counts every case of the queue; more than len(Items) when the
	// list was cut at its limit.
	Total int
}

// More reports whether the list shows only the first of its cases.
func (b bucket) More() bool { return b.Total > len(b.Items) }

type deskData struct {
	All      bool // the whole region's queues, not only the user's own
	Q        string
	Searched bool
	Results  []deskItem
	Buckets  []bucket
	// Filter narrows the queues; Problem says why a part of the request
	// was ignored. Options are the filters' choices.
	Filter  deskFilter
	Problem string
	Options deskOptions
	// Appointments are today's bookings (网上预约) in the user's region.
	Appointments []appointments.Appointment
}

// queueLimit bounds each list of the desk.
const queueLimit = 100

var phoneLike = regexp.MustCompile(`^[0-9 -]{7,15}$`)

// desk is the agent's 工作台: every open case in exactly one queue
// (cases.Queues: overdue, due soon, new, in progress, waiting on a higher
// authority, suspended, ready for handover) with its count, filters by
// handler, matter and township, sorting by due date, and search by case
// number, applicant name, phone or ID number. "Mine" means the cases the
// user handles (its assignee, or its creator while nobody is assigned, as
// the supervision lists count a handler) or tracks at a higher authority.
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
		// Phones and ID numbers are stored sealed: they are found by
		// their exact value (a blind index), never by a prefix.
		if id := strings.ToUpper(d.Q); cases.ValidIDNumber(id) || cases.ValidCreditCode(id) {
			f.IDNumber = id
		} else if phoneLike.MatchString(d.Q) {
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
	d.Filter, d.Problem = readDeskFilter(c, pr.Region, d.All)
	var err error
	if d.Options, err = p.deskOptions(ctx, pr); err != nil {
		return err
	}
	if d.Buckets, err = p.queues(ctx, pr, ownOnly, d.All, d.Filter); err != nil {
		return err
	}
	if d.Appointments, err = p.todaysAppointments(ctx, pr); err != nil {
		return err
	}
	status := http.StatusOK
	if d.Problem != "" {
		status = http.StatusUnprocessableEntity
	}
	return p.Render(c, status, "desk", view{Title: "工作台", Data: d})
}

// queues reads the desk's queues and shows each case with what its queue
// is about: days overdue or left, the higher authority and its reply.
func (p *Pages) queues(ctx context.Context, pr httpapi.Principal, ownOnly, all bool, f deskFilter) ([]bucket, error) {
	lists, err := p.Cases.Queues(ctx, cases.QueueFilter{Scope: pr.Region, OwnOnly: ownOnly, Username: pr.Username, Mine: !all,
		Handler: f.Handler, Matter: f.Matter, Region: f.Township, Descending: f.Sort == sortDueDesc, Limit: queueLimit})
	if err != nil {
		return nil, err
	}
	out := make([]bucket, 0, len(lists))
	for _, l := range lists {
		b := bucket{Key: l.Key, Name: l.Name, Hint: l.Hint, Total: l.Total, Items: make([]deskItem, 0, len(l.Items))}
		for _, it := range l.Items {
			b.Items = append(b.Items, p.queueItem(l.Key, it))
		}
		out = append(out, b)
	}
	return out, nil
}

// queueItem is a case as its queue shows it.
func (p *Pages) queueItem(queue string, it cases.QueueItem) deskItem {
	d := p.listItem(it.Case)
	switch {
	case queue == cases.QueueOverdue:
		d.Late, d.Note = true, fmt.Sprintf("超期 %d 个工作日", it.WorkdaysOverdue)
	case queue == cases.QueueDueSoon && it.WorkdaysLeft == 0:
		d.Note = "今天到期"
	case queue == cases.QueueDueSoon:
		d.Note = fmt.Sprintf("还剩 %d 个工作日", it.WorkdaysLeft)
	case it.Escalation != nil:
		e := it.Escalation
		d.Note = fmt.Sprintf("%s · %s，回复期限 %s", catalog.Level(e.Level).Name(), e.Authority, e.ReplyDue)
		if e.ReplyDue < p.today() {
			d.Late, d.Note = true, d.Note+"（已逾期）"
		}
	}
	return d
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

// Sort orders of the desk's lists.
const (
	sortDueAsc  = "due"
	sortDueDesc = "-due"
)

// deskFilter is what the desk's filter form asks for; "" is any.
type deskFilter struct {
	Handler, Matter, Township, Sort string
}

// Active reports whether any filter narrows the lists.
func (f deskFilter) Active() bool { return f.Handler != "" || f.Matter != "" || f.Township != "" }

// readDeskFilter reads the filter form's query parameters. A value that
// cannot be right (not UTF-8, too long, a township outside the user's
// region) is dropped, and problem says so in words the user knows: the
// queues are still shown, never an error page.
func readDeskFilter(c echo.Context, home string, all bool) (f deskFilter, problem string) {
	var problems []string
	get := func(name, label string, max int) string {
		v := strings.TrimSpace(c.QueryParam(name))
		switch {
		case !utf8.ValidString(v):
			problems = append(problems, label+"含有无法识别的字符")
		case utf8.RuneCountInString(v) > max:
			problems = append(problems, fmt.Sprintf("%s过长（最多 %d 个字符）", label, max))
		default:
			return v
		}
		return ""
	}
	f.Handler = get("handler", "经办人", 64)
	f.Matter = get("matter", "事项", 32)
	f.Township = get("township", "乡镇", 12)
	f.Sort = get("sort", "排序方式", 8)
	if !all {
		f.Handler = "" // 我负责的: the handler is the user
	}
	if f.Township != "" && (strings.Trim(f.Township, "0123456789") != "" || !policies.RegionContains(home, f.Township)) {
		problems = append(problems, "所选乡镇不在您的辖区内")
		f.Township = ""
	}
	if f.Sort != "" && f.Sort != sortDueAsc && f.Sort != sortDueDesc {
		problems = append(problems, "排序方式无效")
		f.Sort = ""
	}
	if len(problems) > 0 {
		problem = "筛选条件有误，已忽略：" + strings.Join(problems, "；")
	}
	return f, problem
}

// option is one choice of a filter.
type option struct{ Value, Label string }

// deskOptions are the filters' choices: the agents and townships inside
// the user's region, and the catalog's matters.
type deskOptions struct {
	Handlers, Matters, Townships []option
}

func (p *Pages) deskOptions(ctx context.Context, pr httpapi.Principal) (deskOptions, error) {
	var o deskOptions
	users, err := p.Users.List(ctx, pr.Region)
	if err != nil {
		return o, err
	}
	for _, u := range users {
		if p.Authz.RoleMay(u.Username, "case", "progress") {
			o.Handlers = append(o.Handlers, option{u.Username, u.Name + "（" + u.Username + "）"})
		}
	}
	matters, err := p.Catalog.List(ctx)
	if err != nil {
		return o, err
	}
	for _, m := range matters {
		o.Matters = append(o.Matters, option{m.Code, m.Name})
	}
	rs, err := p.Regions.List(ctx)
	if err != nil {
		return o, err
	}
	for _, r := range rs {
		if r.Level == regions.Township && r.Code != pr.Region && policies.RegionContains(pr.Region, r.Code) {
			o.Townships = append(o.Townships, option{r.Code, r.Name})
		}
	}
	return o, nil
}

// Link is the desk's address with the filters kept, for the 我负责的 and
// 本辖区全部 tabs (the handler filter only where it applies).
func (d deskData) Link(all bool) string {
	v := url.Values{}
	if all {
		v.Set("all", "1")
		if d.Filter.Handler != "" {
			v.Set("handler", d.Filter.Handler)
		}
	}
	for k, s := range map[string]string{"matter": d.Filter.Matter, "township": d.Filter.Township, "sort": d.Filter.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return "/desk"
	}
	return "/desk?" + v.Encode()
}
