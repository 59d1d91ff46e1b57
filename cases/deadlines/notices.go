package deadlines

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Notices tell staff about deadlines: warnings to a case's handler before
// its due date, a 督办 notice to the township's supervisors at breach, a
// warning to the tracker when a higher authority's reply is overdue, and
// the 督办 notes supervisors add to a case.
//
// Notices are an outbox table (notices): the UI lists each user's notices
// with read/unread, and a Sender (a log line by default, an SMS gateway in
// production) delivers each once. Every notice is a ledger entry
// (notice.created), written in the transaction that creates it.
//
// Deadline notices come from a periodic scan (a River job, see jobs.go).
// Each fires exactly once per case, level and deadline, however many
// servers scan and however often a job is retried or a server dies midway:
// the scan inserts a row keyed (case_id, level, deadline) into
// deadline_alerts in the same transaction as the notices and their ledger
// entries, so a second attempt finds the row and does nothing, and a
// transaction cut short leaves nothing behind.
//
// Thresholds (due_date is the last working day of the limit; "R" is the
// number of working days after today up to and including due_date):
//
//   - warn_3: R <= 3, i.e. from 08:30 on the working day 3 working days
//     before due_date;
//   - warn_1: R <= 1, i.e. from 08:30 on the working day before due_date
//     (and on due_date itself);
//   - overdue (督办 to the township's supervisors): due_date has passed,
//     i.e. from 08:30 on the first working day after due_date;
//   - reply_overdue (to the escalation's tracker): the escalation's
//     reply_due has passed without a reply, from 08:30 on the first working
//     day after reply_due.
//
// Notices go out only in working hours: on a working day of the calendar
// in force (make-up weekends included, holidays excluded), 08:30 to 17:30
// Asia/Shanghai. A threshold reached outside them fires at the next
// opening. Only the highest level reached fires: a case signed with one
// working day left gets warn_1, not warn_3 as well. Deadline notices
// concern cases whose clock runs (delegated, processing, ready for
// handover); a paused case gets none until its clock restarts, with a new
// due date and so a new set of notices.

// Kinds of notice.
const (
	Warn3        = "warn_3"
	Warn1        = "warn_1"
	Overdue      = "overdue"
	ReplyOverdue = "reply_overdue"
	Supervise    = "supervise"
	// Complaint is a 12345 complaint about a case (hotline.go).
	Complaint = "hotline_complaint"
)

// KindNames are the Chinese labels of the kinds.
var KindNames = map[string]string{
	Warn3:        "办理时限预警（3个工作日）",
	Warn1:        "办理时限预警（1个工作日）",
	Overdue:      "超期督办",
	ReplyOverdue: "上级回复超期",
	Supervise:    "督办意见",
	CalendarDue:  "节假日安排待导入",
	Complaint:    "12345 投诉",
}

// Working hours (Asia/Shanghai), in minutes after midnight.
const (
	OpensAt  = 8*60 + 30
	ClosesAt = 17*60 + 30
)

// InWorkingHours reports whether t is in working hours: a working day of
// cal, from 08:30 to before 17:30 in Shanghai.
func InWorkingHours(cal *calendar.Calendar, t time.Time) bool {
	l := t.In(calendar.Shanghai)
	m := l.Hour()*60 + l.Minute()
	return cal.IsWorkday(l) && m >= OpensAt && m < ClosesAt
}

// Level returns the deadline notice level a case due on due has reached
// on the date today ("" for none yet).
func Level(cal *calendar.Calendar, today, due time.Time) string {
	today, due = calendar.Date(today), calendar.Date(due)
	switch {
	case due.Before(today):
		return Overdue
	case !due.After(cal.AddWorkdays(today, 1)):
		return Warn1
	case !due.After(cal.AddWorkdays(today, 3)):
		return Warn3
	}
	return ""
}

// Notice is one notice to one staff user.
type Notice struct {
	ID         int64      `json:"id"`
	Recipient  string     `json:"recipient"`
	Kind       string     `json:"kind"`
	KindName   string     `json:"kind_name"`
	CaseID     int64      `json:"case_id,omitempty"`
	CaseNumber string     `json:"case_number,omitempty"`
	Region     string     `json:"region,omitempty"`
	Deadline   string     `json:"deadline,omitempty"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	CreatedAt  time.Time  `json:"created_at"`
	Read       bool       `json:"read"`
	ReadAt     *time.Time `json:"read_at,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
}

// Sender delivers a notice outside the system (a log line, a text
// message). Send may be called again for a notice whose delivery was cut
// short before it was marked sent.
type Sender interface {
	Send(ctx context.Context, n Notice) error
}

// LogSender is the default Sender: one structured log line per notice,
// with no personal data (no recipient, no text).
type LogSender struct{ Logger *slog.Logger }

// Send logs the notice.
func (s LogSender) Send(ctx context.Context, n Notice) error {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	l.InfoContext(ctx, "notice sent", "notice_id", n.ID, "kind", n.Kind, "case_id", n.CaseID, "deadline", n.Deadline)
	return nil
}

// create inserts one notice and its ledger entry through db (the caller's
// transaction).
func (s *Service) create(ctx context.Context, db dbsqlc.DBTX, actor string, n Notice, at time.Time) (int64, error) {
	p := dbsqlc.NoticeInsertParams{Recipient: n.Recipient, Region: n.Region, Kind: n.Kind, Title: n.Title, Body: n.Body, CreatedAt: at}
	if n.CaseID != 0 {
		p.CaseID = &n.CaseID
	}
	var deadline *time.Time
	if n.Deadline != "" {
		d, err := time.ParseInLocation("2006-01-02", n.Deadline, calendar.Shanghai)
		if err != nil {
			return 0, err
		}
		deadline = &d
		p.Deadline = deadline
	}
	id, err := s.q.NoticeInsert(ctx, db, p)
	if err != nil {
		return 0, err
	}
	payload := map[string]any{
		"notice_id": id, "kind": n.Kind, "recipient": n.Recipient, "number": n.CaseNumber,
		"title": n.Title, "at": at.UTC().Format(time.RFC3339Nano),
	}
	if n.Deadline != "" {
		payload["deadline"] = n.Deadline
	}
	entry, err := ledger.Append(ctx, db, ledger.Meta{Actor: actor, CaseID: n.CaseID, Region: n.Region, Type: "notice.created"}, payload)
	if err != nil {
		return 0, err
	}
	return id, s.q.NoticeSetLedgerEntry(ctx, db, &entry, id)
}

// supervised makes a 督办 note (supervise) a notice to the case's handler
// (its assignee, else whoever opened it), in the action's transaction.
func (s *Service) supervised(ctx context.Context, db dbsqlc.DBTX, ev cases.ActionEvent) error {
	c := ev.Case
	to := c.Assignee
	if to == "" {
		to = c.CreatedBy
	}
	n := Notice{
		Recipient: to, Kind: Supervise, CaseID: c.ID, CaseNumber: c.Number, Region: c.Region,
		Title: fmt.Sprintf("督办：%s", c.Number),
		Body:  fmt.Sprintf("督查人员 %s 对案件 %s（%s）提出督办意见：%s", ev.Actor.Username, c.Number, c.Title, ev.Note),
	}
	_, err := s.create(ctx, db, ev.Actor.Username, n, ev.At)
	return err
}

func noticeFromRow(id int64, recipient string, caseID *int64, caseNumber, region, kind string, deadline *time.Time, title, body string, created time.Time, readAt, sentAt *time.Time) Notice {
	n := Notice{ID: id, Recipient: recipient, Kind: kind, KindName: KindNames[kind], CaseNumber: caseNumber, Region: region,
		Title: title, Body: body, CreatedAt: created, Read: readAt != nil, ReadAt: readAt, SentAt: sentAt}
	if caseID != nil {
		n.CaseID = *caseID
	}
	if deadline != nil {
		n.Deadline = deadline.Format("2006-01-02")
	}
	return n
}
