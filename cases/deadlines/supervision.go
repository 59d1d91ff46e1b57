package deadlines

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// DueSoonWorkdays is the window of "due soon": due within this many
// working days (the first warning's threshold), as the desk counts it.
const DueSoonWorkdays = cases.DueSoonWorkdays

// maxItems bounds each list.
const maxItems = 500

// Supervision answers the supervisor's question "what is late or about to
// be, in my region?": cases past or near their due date, cases waiting on
// a higher authority with the reply's due date, and open 差评
// rectifications with theirs. Lists are scoped by the caller's region (a
// prefix of the case's region code) and show no full ID number.
type Supervision struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
	cal  func() *calendar.Calendar
	now  func() time.Time
	pii  *pii.Keys
}

// NewSupervision returns the supervision lists; keys open the applicants'
// ID numbers (shown masked), cal returns the calendar in force, now is the
// clock (time.Now when nil).
// supervisionQuery documents the list's query parameter.
type supervisionQuery struct {
	Region string `query:"region" doc:"地区代码（默认本人管辖范围）"`
}

func NewSupervision(pool *pgxpool.Pool, keys *pii.Keys, cal func() *calendar.Calendar, now func() time.Time) *Supervision {
	if now == nil {
		now = time.Now
	}
	return &Supervision{pool: pool, q: dbsqlc.New(), cal: cal, now: now, pii: keys}
}

// Routes returns GET /api/v1/supervision (report:read).
func (s *Supervision) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/supervision", Obj: "report", Act: "read", Handler: s.handle,
			Doc: httpapi.Doc{Summary: "督查清单：即将到期、已超期、上级回复超期、待整改", Query: supervisionQuery{}, Response: Report{}}},
	}
}

// Applicant is the applicant as lists show it: masked.
type Applicant struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// CaseRef identifies a case in a list.
type CaseRef struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Region    string    `json:"region"`
	Title     string    `json:"title"`
	State     string    `json:"state"`
	StateName string    `json:"state_name"`
	Handler   string    `json:"handler"`
	Applicant Applicant `json:"applicant"`
}

// DeadlineItem is a case whose clock runs, overdue or due soon.
type DeadlineItem struct {
	CaseRef
	DueDate string `json:"due_date"`
	// WorkdaysLeft counts the working days after today up to the due date
	// (0: due today); for an overdue case, WorkdaysOverdue counts the
	// working days since it, today included.
	WorkdaysLeft    int `json:"workdays_left"`
	WorkdaysOverdue int `json:"workdays_overdue,omitempty"`
	// DueProvisional: the due date lies past the calendar in force (see
	// cases.Provisional).
	DueProvisional bool `json:"due_provisional"`
}

// EscalationItem is a case waiting on a higher authority.
type EscalationItem struct {
	CaseRef
	Level       string    `json:"level"`
	LevelName   string    `json:"level_name"`
	Authority   string    `json:"authority"`
	Tracker     string    `json:"tracker"`
	EscalatedAt time.Time `json:"escalated_at"`
	ReplyDue    string    `json:"reply_due"`
	Overdue     bool      `json:"overdue"` // reply_due has passed
	DueDate     string    `json:"due_date,omitempty"`
}

// RectificationItem is an open 差评 rectification.
type RectificationItem struct {
	CaseRef
	Rating   int       `json:"rating"`
	Comment  string    `json:"comment"`
	OpenedAt time.Time `json:"opened_at"`
	DueDate  string    `json:"due_date"`
	Overdue  bool      `json:"overdue"`
	// DueProvisional: the rectification's due date lies past the calendar.
	DueProvisional bool `json:"due_provisional"`
}

// Report is the supervision view of a region.
type Report struct {
	Region         string              `json:"region"`
	Today          string              `json:"today"`
	Overdue        []DeadlineItem      `json:"overdue"`
	DueSoon        []DeadlineItem      `json:"due_soon"`
	Escalated      []EscalationItem    `json:"escalated"`
	Rectifications []RectificationItem `json:"rectifications"`
}

func ref(id int64, number, region, title, state string, assignee *string, createdBy, kind, name, maskedID string) CaseRef {
	handler := createdBy
	if assignee != nil && *assignee != "" {
		handler = *assignee
	}
	return CaseRef{ID: id, Number: number, Region: region, Title: title, State: state, StateName: cases.StateNames[cases.State(state)],
		Handler: handler, Applicant: Applicant{Kind: kind, Name: cases.MaskName(name), IDNumber: maskedID}}
}

// Build returns the report for the cases whose region starts with scope.
func (s *Supervision) Build(ctx context.Context, scope string) (_ Report, err error) {
	defer daiban.Wrap(&err, "deadlines: supervision lists for %s", scope)
	cal := s.cal()
	today := calendar.Date(s.now())
	soon := cal.AddWorkdays(today, DueSoonWorkdays)
	out := Report{Region: scope, Today: today.Format("2006-01-02"), Overdue: []DeadlineItem{}, DueSoon: []DeadlineItem{}, Escalated: []EscalationItem{}, Rectifications: []RectificationItem{}}
	running, err := s.q.SupervisionRunning(ctx, s.pool, scope, soon, maxItems)
	if err != nil {
		return Report{}, err
	}
	for _, r := range running {
		due := calendar.Date(*r.DueDate)
		it := DeadlineItem{CaseRef: ref(r.ID, r.Number, r.Region, r.Title, r.State, r.Assignee, r.CreatedBy, r.ApplicantKind, r.ApplicantName, cases.MaskedID(s.pii, r.Number, r.ApplicantIDNumberEnc)), DueDate: r.DueDate.Format("2006-01-02")}
		it.DueProvisional = cases.Provisional(cal, it.DueDate)
		if due.Before(today) {
			it.WorkdaysOverdue = cal.WorkdaysBetween(due, today)
			out.Overdue = append(out.Overdue, it)
		} else {
			it.WorkdaysLeft = cal.WorkdaysBetween(today, due)
			out.DueSoon = append(out.DueSoon, it)
		}
	}
	escs, err := s.q.SupervisionEscalated(ctx, s.pool, scope, maxItems)
	if err != nil {
		return Report{}, err
	}
	for _, r := range escs {
		it := EscalationItem{CaseRef: ref(r.ID, r.Number, r.Region, r.Title, r.State, r.Assignee, r.CreatedBy, r.ApplicantKind, r.ApplicantName, cases.MaskedID(s.pii, r.Number, r.ApplicantIDNumberEnc)),
			Level: r.Level, LevelName: catalog.Level(r.Level).Name(), Authority: r.Authority, Tracker: r.Tracker, EscalatedAt: r.EscalatedAt,
			ReplyDue: r.ReplyDue.Format("2006-01-02"), Overdue: calendar.Date(r.ReplyDue).Before(today)}
		if r.DueDate != nil {
			it.DueDate = r.DueDate.Format("2006-01-02")
		}
		out.Escalated = append(out.Escalated, it)
	}
	rects, err := s.q.SupervisionRectifications(ctx, s.pool, scope, maxItems)
	if err != nil {
		return Report{}, err
	}
	for _, r := range rects {
		out.Rectifications = append(out.Rectifications, RectificationItem{
			CaseRef: ref(r.ID, r.Number, r.Region, r.Title, r.State, r.Assignee, r.CreatedBy, r.ApplicantKind, r.ApplicantName, cases.MaskedID(s.pii, r.Number, r.ApplicantIDNumberEnc)),
			Rating:  int(r.Rating), Comment: r.Comment, OpenedAt: r.OpenedAt, DueDate: r.RectificationDue.Format("2006-01-02"),
			Overdue:        calendar.Date(r.RectificationDue).Before(today),
			DueProvisional: cases.Provisional(cal, r.RectificationDue.Format("2006-01-02")),
		})
	}
	return out, nil
}

func (s *Supervision) handle(c echo.Context) error {
	p := httpapi.CurrentPrincipal(c)
	scope := p.Region
	for k := range c.QueryParams() {
		if k != "region" {
			return daiban.Invalid(k, "未知的查询参数 %s", k)
		}
	}
	if r := c.QueryParam("region"); r != "" {
		if strings.Trim(r, "0123456789") != "" {
			return daiban.Invalid("region", "地区代码应为数字")
		}
		if !policies.RegionContains(p.Region, r) {
			return daiban.Errorf(daiban.EFORBIDDEN, "地区 %s 不在您的管辖范围内", r)
		}
		scope = r
	}
	rep, err := s.Build(c.Request().Context(), scope)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rep)
}
