// Package reports builds the monthly dispatch report (每月调度报告) of a
// county or a township: per township, the cases received (and by mode),
// delegated and closed, the on-time rate, the average working days to
// close, the overdue list with handlers, escalations and their outcomes,
// ratings by level and the 差评 with their rectification — as JSON, and as
// a PDF. The figures' types are here (report.go); the PDF is laid out by
// agreements/pdf, which the caller hands in as a Renderer so that nothing
// under cases imports agreements.
//
// # Determinism
//
// A report is computed from stored facts only. The month is [first day
// 00:00, next month's first day 00:00) in Asia/Shanghai; every figure
// counts events whose timestamp falls in it (opened, delegated, closed,
// escalated, rated), and the "at month end" figures (still open, overdue,
// escalation replies, rectifications) are judged from the stored
// timestamps at the month's end, not from the current state. So a
// finished month's report says the same whenever it is asked for (unless
// the stored facts change: a due date recomputed for a new holiday notice,
// a case corrected). The month in progress may be reported on too: its
// figures are as of today (AsOf, Complete false). Every list is ordered
// and every ratio is rounded half up to one decimal with integer
// arithmetic, so the same data gives the same JSON byte for byte.
//
// # Scale
//
// The counting is done in PostgreSQL (one GROUP BY per kind of figure,
// township = left(region, 9)); only the overdue list and the 差评 come
// back row by row, and the working days to close are counted per
// (township, start day, close day) group with the calendar in force.
package reports

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Renderer lays a report out as a PDF. agreements/pdf's *Renderer is the
// one the server and the command line use; it gives up with an
// EUNAVAILABLE error if ctx ends while it waits for a rendering slot.
type Renderer interface {
	MonthlyReport(ctx context.Context, rep Report) ([]byte, error)
}

// Service builds reports.
type Service struct {
	pool     *pgxpool.Pool
	q        *dbsqlc.Queries
	cal      func() *calendar.Calendar
	renderer Renderer
	// Now is the clock that decides which month is in progress (and the
	// PDF's generation time); time.Now unless set.
	Now func() time.Time
}

// NewService returns the service; cal returns the working-day calendar in
// force, renderer lays out the PDF variant, now is the clock (nil:
// time.Now).
func NewService(pool *pgxpool.Pool, cal func() *calendar.Calendar, renderer Renderer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{pool: pool, q: dbsqlc.New(), cal: cal, renderer: renderer, Now: now}
}

var monthRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

// ParseMonth reads YYYY-MM and returns the month's first day, 00:00 in
// Asia/Shanghai. A malformed month, one before 2000 and one after the
// current month (in Asia/Shanghai, by now) are EINVALID errors naming the
// field "month".
func ParseMonth(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, daiban.Invalid("month", "请选择月份（例如 2026-10）")
	}
	t, err := time.ParseInLocation("2006-01", s, calendar.Shanghai)
	if !monthRE.MatchString(s) || err != nil {
		return time.Time{}, daiban.Invalid("month", "月份“%s”格式不对，应为年-月，例如 2026-10", s)
	}
	if t.Year() < calendar.MinYear {
		return time.Time{}, daiban.Invalid("month", "月份 %s 过早：只能生成 %d 年以后的报告", s, calendar.MinYear)
	}
	today := calendar.Date(now)
	current := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, calendar.Shanghai)
	if t.After(current) {
		return time.Time{}, daiban.Invalid("month", "月份 %s 尚未到来，不能生成报告（当前为 %s）", s, current.Format("2006-01"))
	}
	return t, nil
}

// Region looks up the region a report is asked for: a county or a
// township. An unknown or malformed code and a village are EINVALID errors
// naming the field "region".
func (s *Service) Region(ctx context.Context, code string) (regions.Region, error) {
	if code == "" {
		return regions.Region{}, daiban.Invalid("region", "请指定地区代码（region）")
	}
	lv := regions.LevelOf(code)
	if lv == "" || strings.Trim(code, "0123456789") != "" {
		return regions.Region{}, daiban.Invalid("region", "地区代码 %q 格式错误，应为 6 位（县）或 9 位（乡镇、街道）数字", code)
	}
	row, err := s.q.RegionGet(ctx, s.pool, code)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return regions.Region{}, daiban.Invalid("region", "地区代码 %s 不存在", code)
		}
		return regions.Region{}, err
	}
	reg := regions.Region{Code: row.Code, Name: row.Name, Level: row.Level}
	if row.Parent != nil {
		reg.Parent = *row.Parent
	}
	if reg.Level != regions.County && reg.Level != regions.Township {
		return regions.Region{}, daiban.Invalid("region", "调度报告按县或乡镇（街道）生成，%s（%s）是村（社区），请选择所属乡镇（街道）", reg.Name, reg.Code)
	}
	return reg, nil
}

// Monthly returns the report of region code for month (YYYY-MM), after
// checking both (see ParseMonth and Region). It does not check who asks:
// the HTTP layer scopes the region to the user.
func (s *Service) Monthly(ctx context.Context, code, month string) (Report, error) {
	now := s.Now()
	start, err := ParseMonth(month, now)
	if err != nil {
		return Report{}, err
	}
	reg, err := s.Region(ctx, code)
	if err != nil {
		return Report{}, err
	}
	return s.Build(ctx, reg, start, now)
}

// PDF renders a report.
func (s *Service) PDF(ctx context.Context, rep Report) ([]byte, error) {
	if rep.GeneratedAt.IsZero() {
		rep.GeneratedAt = s.Now()
	}
	if s.renderer == nil {
		return nil, daiban.Errorf(daiban.EINTERNAL, "reports: no PDF renderer")
	}
	return s.renderer.MonthlyReport(ctx, rep)
}
