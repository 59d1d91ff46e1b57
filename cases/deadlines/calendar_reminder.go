package deadlines

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases/calendar"
)

// The calendar runs out: the State Council publishes each year's holiday
// arrangements (国务院办公厅关于某年部分节假日安排的通知) around November of
// the year before, and nobody may guess them. Until the next year's file is
// imported, a due date counted into that year follows the plain
// Monday-to-Friday rule and is shown as provisional (cases.Provisional);
// the import recomputes it (ImportCalendar).
//
// So that the file is imported in time, from 1 November (Asia/Shanghai) of
// the last year the calendar covers, the administrators and the county's
// supervisors get a notice asking for it; also when that day has long
// passed (a server started late, a year already begun without its
// notice). Each recipient gets it once per last covered year, whatever the
// number of servers and scans: a calendar_reminders row keyed by the year
// and the recipient is written in the transaction that creates the
// notice; one appointed later gets it at the next scan. Importing the
// next year moves the last covered year on, and the next reminder waits
// for the next November.

// CalendarDue is the kind of the reminder to import the next year's
// holiday notice.
const CalendarDue = "calendar"

// ReminderFrom returns the instant from which the reminder for a calendar
// whose last covered year is last is due: 1 November of that year.
func ReminderFrom(last int) time.Time {
	return time.Date(last, time.November, 1, 0, 0, 0, 0, calendar.Shanghai)
}

// remindCalendar sends the reminder, if it is due, to every recipient
// who has not had it, and returns how many it sent. Each recipient's
// notice is claimed by its own calendar_reminders row in the same
// transaction: a server racing this one skips it.
func (s *Service) remindCalendar(ctx context.Context, now time.Time) (int, error) {
	if !reminderDue(s.cal(), now) {
		return 0, nil
	}
	sent := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The calendar as the database has it: another server may have
		// imported the next year a moment ago.
		cal, _, err := s.calendarIn(ctx, tx)
		if err != nil {
			return err
		}
		if !reminderDue(cal, now) {
			return nil
		}
		years := cal.Years()
		last := years[len(years)-1]
		users, err := s.q.CalendarReminderPending(ctx, tx, int32(last))
		if err != nil {
			return err
		}
		for _, u := range users {
			if _, err := s.q.CalendarReminderInsert(ctx, tx, int32(last), u.Username, now); errors.Is(err, pgx.ErrNoRows) {
				continue // sent by another server meanwhile
			} else if err != nil {
				return err
			}
			n := calendarNotice(last)
			n.Recipient, n.Region = u.Username, u.Region
			if _, err := s.create(ctx, tx, scanActor, n, now); err != nil {
				return err
			}
			sent++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return sent, nil
}

// reminderDue reports whether, at now, the reminder for cal is due.
func reminderDue(cal *calendar.Calendar, now time.Time) bool {
	years := cal.Years()
	return len(years) > 0 && !now.Before(ReminderFrom(years[len(years)-1]))
}

// calendarNotice writes the reminder's text for a calendar ending with
// the year last.
func calendarNotice(last int) Notice {
	next := last + 1
	return Notice{
		Kind:  CalendarDue,
		Title: fmt.Sprintf("请导入 %d 年节假日安排", next),
		Body: fmt.Sprintf("系统中的国务院节假日安排只到 %d 年。办结时限计算到 %d 年及以后的案件，"+
			"其办结日期暂按周一至周五上班推算，在案件页、工作台和申请人查询页上标注为「暂定」。"+
			"国务院办公厅公布《关于 %d 年部分节假日安排的通知》后，请按通知整理日历文件（表头 date,kind,name），"+
			"由系统管理员在服务器上运行 daiban calendar import 导入；导入后所有暂定日期自动重新计算，每项调整记入台账。"+
			"通知公布前请勿自行推测放假日期。", last, next, next),
	}
}
