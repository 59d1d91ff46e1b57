package deadlines

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// scanActor is the ledger actor of the notices the scan creates.
const scanActor = "system:deadlines"

// scanBatch bounds the alerts one scan fires; the next scan goes on.
const scanBatch = 500

// Scan fires every deadline notice whose threshold has been reached, if
// now is in working hours, and returns how many alerts it fired; first
// it sends the calendar reminder when due (calendar_reminder.go). Each
// alert is its own transaction: one failure does not hold up the others.
func (s *Service) Scan(ctx context.Context) (_ int, err error) {
	defer daiban.Wrap(&err, "deadlines: scan for due cases")
	now := s.now()
	// The calendar reminder is not about a case's deadline: it goes out
	// as soon as it is due, and a failure holds up no deadline notice.
	var errs []error
	if _, err := s.remindCalendar(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("calendar reminder: %w", err))
	}
	cal := s.cal()
	if !InWorkingHours(cal, now) {
		return 0, errors.Join(errs...)
	}
	today := calendar.Date(now)
	cands, err := s.q.DeadlineCandidates(ctx, s.pool, dbsqlc.DeadlineCandidatesParams{
		Today: today, D1: cal.AddWorkdays(today, 1), D3: cal.AddWorkdays(today, 3), Lim: scanBatch,
	})
	if err != nil {
		return 0, errors.Join(append(errs, err)...)
	}
	fired := 0
	for _, c := range cands {
		ok, err := s.fire(ctx, c.ID, c.Level, *c.DueDate, now, cal)
		if err != nil {
			errs = append(errs, fmt.Errorf("case %d %s: %w", c.ID, c.Level, err))
		} else if ok {
			fired++
		}
	}
	replies, err := s.q.ReplyOverdueCandidates(ctx, s.pool, today, scanBatch)
	if err != nil {
		return fired, errors.Join(append(errs, err)...)
	}
	for _, r := range replies {
		ok, err := s.fire(ctx, r.CaseID, ReplyOverdue, r.ReplyDue, now, cal)
		if err != nil {
			errs = append(errs, fmt.Errorf("case %d %s: %w", r.CaseID, ReplyOverdue, err))
		} else if ok {
			fired++
		}
	}
	return fired, errors.Join(errs...)
}

// fire creates one alert's notices, unless the case no longer meets it
// (checked again with the case share-locked, so no action changes it
// meanwhile) or another scan fired it first. It reports whether it fired.
func (s *Service) fire(ctx context.Context, caseID int64, level string, deadline, now time.Time, cal *calendar.Calendar) (bool, error) {
	fired := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := s.q.CaseForNotice(ctx, tx, caseID)
		if err != nil {
			return err
		}
		today := calendar.Date(now)
		day := deadline.Format("2006-01-02")
		var esc *dbsqlc.Escalation
		switch level {
		case ReplyOverdue:
			if cases.State(row.State) != cases.Escalated {
				return nil
			}
			e, err := s.q.OpenEscalation(ctx, tx, caseID)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			} else if err != nil {
				return err
			}
			if e.ReplyDue.Format("2006-01-02") != day || !calendar.Date(e.ReplyDue).Before(today) {
				return nil
			}
			esc = &e
		default:
			if !cases.State(row.State).ClockRuns() || row.DueDate == nil || row.DueDate.Format("2006-01-02") != day {
				return nil
			}
			if Level(cal, today, *row.DueDate) != level {
				return nil
			}
		}
		if _, err := s.q.AlertInsert(ctx, tx, dbsqlc.AlertInsertParams{CaseID: caseID, Level: level, Deadline: deadline, FiredAt: now}); errors.Is(err, pgx.ErrNoRows) {
			return nil // fired already
		} else if err != nil {
			return err
		}
		recipients, err := s.recipients(ctx, tx, row, level, esc)
		if err != nil {
			return err
		}
		for _, to := range recipients {
			n := s.deadlineNotice(cal, today, row, level, deadline, esc)
			n.Recipient = to
			if _, err := s.create(ctx, tx, scanActor, n, now); err != nil {
				return err
			}
		}
		if len(recipients) == 0 {
			s.logger.Warn("deadline notice has no recipient", "case_id", caseID, "level", level)
		}
		if hook := s.beforeCommit.Load(); hook != nil {
			(*hook)(ctx, caseID, level)
		}
		fired = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return fired, nil
}

// recipients: warnings go to the handler (assignee, else the case's
// creator); the breach to the supervisors of the case's township, or of
// the county when the township has none; an overdue reply to the
// escalation's tracker. Disabled users are skipped.
func (s *Service) recipients(ctx context.Context, tx pgx.Tx, c dbsqlc.Case, level string, esc *dbsqlc.Escalation) ([]string, error) {
	enabled := func(u string) (bool, error) {
		if u == "" {
			return false, nil
		}
		return s.q.UserEnabled(ctx, tx, u)
	}
	var candidates []string
	switch level {
	case Overdue:
		for _, scope := range []string{township(c.Region), c.Region[:min(6, len(c.Region))]} {
			users, err := s.q.SupervisorsIn(ctx, tx, scope)
			if err != nil {
				return nil, err
			}
			if len(users) > 0 {
				return users, nil
			}
		}
		return nil, nil
	case ReplyOverdue:
		candidates = []string{esc.Tracker}
	}
	if c.Assignee != nil {
		candidates = append(candidates, *c.Assignee)
	}
	candidates = append(candidates, c.CreatedBy)
	for _, u := range candidates {
		ok, err := enabled(u)
		if err != nil {
			return nil, err
		}
		if ok {
			return []string{u}, nil
		}
	}
	return nil, nil
}

// township returns the township code of a region (the county for a
// county-level region).
func township(region string) string {
	if len(region) >= 9 {
		return region[:9]
	}
	return region
}

// deadlineNotice writes a deadline notice's text. No personal data of the
// applicant: the case number and the matter identify the case.
func (s *Service) deadlineNotice(cal *calendar.Calendar, today time.Time, c dbsqlc.Case, level string, deadline time.Time, esc *dbsqlc.Escalation) Notice {
	day := deadline.Format("2006-01-02")
	when := fmt.Sprintf("%s（%s）", day, calendar.WeekdayName(deadline))
	handler := c.CreatedBy
	if c.Assignee != nil {
		handler = *c.Assignee
	}
	n := Notice{Kind: level, CaseID: c.ID, CaseNumber: c.Number, Region: c.Region, Deadline: day}
	switch level {
	case Warn3, Warn1:
		left := cal.WorkdaysBetween(today, deadline)
		if left == 0 {
			n.Title = fmt.Sprintf("今日到期：%s", c.Number)
			n.Body = fmt.Sprintf("案件 %s（%s）的承诺办结时限为今天 %s，请在今天下班前办结。", c.Number, c.Title, when)
		} else {
			n.Title = fmt.Sprintf("办理时限预警：%s 剩余 %d 个工作日", c.Number, left)
			n.Body = fmt.Sprintf("案件 %s（%s）的承诺办结时限为 %s，距今还有 %d 个工作日，请抓紧办理。", c.Number, c.Title, when, left)
		}
	case Overdue:
		n.Title = fmt.Sprintf("超期督办：%s", c.Number)
		n.Body = fmt.Sprintf("案件 %s（%s）已超过承诺办结时限 %s，经办人 %s，当前状态「%s」。请督促办理。", c.Number, c.Title, when, handler, cases.StateNames[cases.State(c.State)])
	case ReplyOverdue:
		n.Title = fmt.Sprintf("上级回复超期：%s", c.Number)
		n.Body = fmt.Sprintf("案件 %s（%s）已转报%s（%s），回复期限 %s 已过，尚未收到回复，请跟进。", c.Number, c.Title, esc.Authority, catalog.Level(esc.Level).Name(), when)
	}
	if level != ReplyOverdue && !cal.Covers(deadline) {
		n.Body += fmt.Sprintf("注意：该日期为暂定，%d 年节假日安排尚未导入，日期按周一至周五上班推算，导入后可能调整。", deadline.Year())
	}
	return n
}

// Deliver hands every notice not yet sent to the Sender, each in its own
// transaction that marks it sent; a notice another server is delivering is
// skipped. A failed delivery is tried again at the next call, up to
// maxAttempts times.
func (s *Service) Deliver(ctx context.Context) (_ int, err error) {
	defer daiban.Wrap(&err, "deadlines: deliver notices")
	sent := 0
	var after int64
	for i := 0; i < scanBatch; i++ {
		done := false
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			r, err := s.q.NoticeNextUnsent(ctx, tx, int32(s.maxAttempts), after)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			} else if err != nil {
				return err
			}
			after = r.ID
			n := noticeFromRow(r.ID, r.Recipient, r.CaseID, r.CaseNumber, r.Region, r.Kind, r.Deadline, r.Title, r.Body, r.CreatedAt, r.ReadAt, r.SentAt)
			if err := s.sender.Send(ctx, n); err != nil {
				msg := err.Error()
				if len(msg) > 200 {
					msg = msg[:200]
				}
				s.logger.Warn("notice delivery failed", "notice_id", r.ID, "attempt", r.Attempts+1)
				return s.q.NoticeSendFailed(ctx, tx, &msg, r.ID)
			}
			now := s.now()
			sent++
			return s.q.NoticeSent(ctx, tx, &now, r.ID)
		})
		if err != nil {
			return sent, err
		}
		if done {
			break
		}
	}
	return sent, nil
}
