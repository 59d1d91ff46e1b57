package cases

import (
	"context"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// DueSoonWorkdays is the window of "due soon": due within this many
// working days (the first deadline warning's threshold).
const DueSoonWorkdays = 3

// Queue is one list of the agents' desk (工作台).
type Queue struct {
	Key  string
	Name string
	Hint string
	// States are the open states whose cases fall in this queue, unless
	// their deadline puts them in QueueOverdue or QueueDueSoon first.
	States []State
}

// Keys of the two deadline queues, which take a case by its due date
// whatever its state.
const (
	QueueOverdue = "overdue"
	QueueDueSoon = "due-soon"
)

// Queues are the desk's queues in the order shown. Every open state is in
// exactly one queue's States, so every open case is in exactly one queue:
// a case whose clock runs goes to 已超期 when its due date has passed,
// else to 即将到期 when due within DueSoonWorkdays, else to the queue of
// its state.
var Queues = []Queue{
	{Key: QueueOverdue, Name: "已超期", Hint: "超过承诺时限仍未办结"},
	{Key: QueueDueSoon, Name: "即将到期", Hint: "3 个工作日内到期"},
	{Key: "new", Name: "新接待", Hint: "接待咨询、待补材料、待签协议", States: []State{Consultation, AwaitingMaterials, AgreementPending}},
	{Key: "active", Name: "在办", Hint: "领办中，及已委托、办理中且未临期", States: []State{Accompanying, Delegated, Processing}},
	{Key: "escalated", Name: "等待上级", Hint: "已转报上级机关，跟踪回复", States: []State{Escalated}},
	{Key: "suspended", Name: "已中止", Hint: "中止办理，待续办", States: []State{Suspended}},
	{Key: "ready", Name: "待交付", Hint: "结果已出，待申请人签收", States: []State{ReadyForHandover}},
}

// QueueFilter selects the desk's cases. Scope and OwnOnly come from the
// caller's role and region, never from the request.
type QueueFilter struct {
	Scope    string
	OwnOnly  bool
	Username string
	// Mine keeps the cases Username handles (the assignee, else the
	// creator) or tracks at a higher authority.
	Mine bool
	// Handler, Matter and Region ("" for any) narrow the lists; Region is
	// a region code inside Scope (a township).
	Handler, Matter, Region string
	// Descending sorts by due date, latest first.
	Descending bool
	// Limit bounds each queue's list.
	Limit int
}

// QueueItem is one case in a queue. Its Escalation, when the case waits
// on a higher authority, is the open one (level, authority, tracker,
// reply due date).
type QueueItem struct {
	Case
	// WorkdaysLeft counts the working days after today up to the due date
	// (0: due today) in QueueDueSoon; WorkdaysOverdue counts those since
	// the due date, today included, in QueueOverdue.
	WorkdaysLeft, WorkdaysOverdue int
}

// QueueList is one queue with its cases, the first Limit by due date, and
// the count of all of them.
type QueueList struct {
	Queue
	Items []QueueItem
	Total int
}

// Queues returns every queue of the desk in the order of Queues, each
// with its first f.Limit cases and its full count, all read at once.
func (s *Service) Queues(ctx context.Context, f QueueFilter) (_ []QueueList, err error) {
	defer daiban.Wrap(&err, "cases: desk queues for %s", f.Username)
	cal := s.cal()
	today := calendar.Date(s.Now())
	p := dbsqlc.CaseQueuesParams{
		Today: today, Soon: cal.AddWorkdays(today, DueSoonWorkdays), OverdueQueue: QueueOverdue, SoonQueue: QueueDueSoon,
		Scope: f.Scope, OwnOnly: f.OwnOnly, Username: f.Username, Mine: f.Mine, Descending: f.Descending, Lim: int64(f.Limit),
	}
	for _, st := range States {
		if st.ClockRuns() {
			p.Running = append(p.Running, string(st))
		}
	}
	for _, q := range Queues {
		for _, st := range q.States {
			p.States, p.Queues = append(p.States, string(st)), append(p.Queues, q.Key)
		}
	}
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	p.Handler, p.Matter, p.Region = opt(f.Handler), opt(f.Matter), opt(f.Region)
	rows, err := s.q.CaseQueues(ctx, customPlans{s.pool}, p)
	if err != nil {
		return nil, err
	}
	out := make([]QueueList, len(Queues))
	at := map[string]int{}
	for i, q := range Queues {
		out[i], at[q.Key] = QueueList{Queue: q, Items: []QueueItem{}}, i
	}
	for _, r := range rows {
		l := &out[at[r.Queue]]
		l.Total = int(r.Total)
		it, err := s.queueItem(cal, today, r)
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, it)
	}
	return out, nil
}

func (s *Service) queueItem(cal *calendar.Calendar, today time.Time, r dbsqlc.CaseQueuesRow) (QueueItem, error) {
	c, err := s.caseOf(r.Case)
	if err != nil {
		return QueueItem{}, err
	}
	it := QueueItem{Case: c}
	if r.EscalationReplyDue != nil {
		it.Escalation = &Escalation{Level: deref(r.EscalationLevel), Authority: deref(r.EscalationAuthority),
			Tracker: deref(r.EscalationTracker), ReplyDue: r.EscalationReplyDue.Format("2006-01-02")}
	}
	if r.Case.DueDate != nil {
		due := calendar.Date(*r.Case.DueDate)
		switch r.Queue {
		case QueueOverdue:
			it.WorkdaysOverdue = cal.WorkdaysBetween(due, today)
		case QueueDueSoon:
			it.WorkdaysLeft = cal.WorkdaysBetween(today, due)
		}
	}
	return it, nil
}
