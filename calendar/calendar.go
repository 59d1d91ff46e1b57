// Package calendar counts working days the way the State Council holiday
// notices define them: Monday to Friday work, weekends off, statutory
// holidays off and make-up working weekends (调休) on. Promised time limits
// count from the day after the start (期间开始之日不计算在内).
package calendar

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/daiban/daiban"
)

//go:embed data/cn-holidays.csv
var builtin []byte

// Day is one listed day of a notice: a day off on a weekday or a make-up
// working day on a weekend.
type Day struct {
	Date time.Time
	Work bool
	Name string
}

// Calendar answers working-day questions. It is immutable; a new notice
// makes a new Calendar.
type Calendar struct {
	days  map[string]Day // by YYYY-MM-DD
	years map[int]bool
}

// Shanghai is the time zone every date of a case is counted in.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Default returns the calendar built into the binary.
func Default() *Calendar {
	c, err := Parse(builtin)
	if err != nil {
		panic(err)
	}
	return c
}

// Parse reads a date,kind,name CSV (kind off|work).
func Parse(b []byte) (*Calendar, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, daiban.Invalid("file", "日历文件格式错误：%v", err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != "date,kind,name" {
		return nil, daiban.Invalid("file", "日历文件应以 date,kind,name 为表头")
	}
	var days []Day
	for i, r := range rows[1:] {
		line := i + 2
		d, err := time.ParseInLocation("2006-01-02", r[0], Shanghai)
		if err != nil {
			return nil, daiban.Invalid("file", "第 %d 行日期 %q 无效", line, r[0])
		}
		switch r[1] {
		case "off", "work":
		default:
			return nil, daiban.Invalid("file", "第 %d 行类型 %q 无效，应为 off 或 work", line, r[1])
		}
		if strings.TrimSpace(r[2]) == "" {
			return nil, daiban.Invalid("file", "第 %d 行缺少节日名称", line)
		}
		days = append(days, Day{Date: d, Work: r[1] == "work", Name: r[2]})
	}
	return New(days)
}

// New builds a calendar from listed days, refusing duplicates and days that
// contradict the plain rule (a "work" weekday or an "off" that is already
// a weekend is allowed only as a holiday inside a festival).
func New(days []Day) (*Calendar, error) {
	c := &Calendar{days: map[string]Day{}, years: map[int]bool{}}
	sort.Slice(days, func(i, j int) bool { return days[i].Date.Before(days[j].Date) })
	for _, d := range days {
		k := d.Date.Format("2006-01-02")
		if _, dup := c.days[k]; dup {
			return nil, daiban.Invalid("file", "日期 %s 重复", k)
		}
		if d.Work && !weekend(d.Date) {
			return nil, daiban.Invalid("file", "%s 是工作日，不能再列为调休上班日", k)
		}
		c.days[k] = d
		c.years[d.Date.Year()] = true
	}
	return c, nil
}

// Years lists the years the calendar has notices for.
func (c *Calendar) Years() []int {
	var ys []int
	for y := range c.years {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// Days returns the listed days in date order.
func (c *Calendar) Days() []Day {
	out := make([]Day, 0, len(c.days))
	for _, d := range c.days {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

func weekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// Date returns the calendar date of t in Shanghai, at midnight.
func Date(t time.Time) time.Time {
	t = t.In(Shanghai)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Shanghai)
}

// IsWorkday reports whether the date of t is a working day.
func (c *Calendar) IsWorkday(t time.Time) bool {
	if d, ok := c.days[Date(t).Format("2006-01-02")]; ok {
		return d.Work
	}
	return !weekend(Date(t))
}

// Covers reports whether the calendar has the notice for t's year, so a
// deadline past its end is known to be provisional.
func (c *Calendar) Covers(t time.Time) bool { return c.years[Date(t).Year()] }

// AddWorkdays returns the date on which a limit of n working days that
// starts on start ends: the start day itself is not counted, the limit ends
// at the close of the n-th working day after it.
func (c *Calendar) AddWorkdays(start time.Time, n int) time.Time {
	d := Date(start)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.IsWorkday(d) {
			n--
		}
	}
	return d
}

// WorkdaysBetween counts the working days after from up to and including to
// (0 when to is not after from).
func (c *Calendar) WorkdaysBetween(from, to time.Time) int {
	a, b := Date(from), Date(to)
	n := 0
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if c.IsWorkday(d) {
			n++
		}
	}
	return n
}

// String describes the calendar for logs.
func (c *Calendar) String() string {
	return fmt.Sprintf("calendar(%d listed days, years %v)", len(c.days), c.Years())
}
