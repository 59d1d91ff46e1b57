// Package calendar counts working days the way the State Council holiday
// notices define them: Monday to Friday work, weekends off, statutory
// holidays off and make-up working weekends (调休) on. Promised time limits
// count from the day after the start (期间开始之日不计算在内).
package calendar

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"sort"
	"strconv"
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

// Rules every calendar file (and the calendar it makes together with the
// years already loaded) must follow; a file that breaks one is refused as
// a whole.
const (
	// MinYear and MaxYear bound the dates a notice may list.
	MinYear, MaxYear = 2000, 2100
	// MinOffDaysPerYear is the fewest days off a year's notice can list.
	// The statutory holidays alone are 11 days a year (13 since 2025), and
	// a notice lists every day off that would otherwise be a working day
	// (plus the weekends inside a holiday), so a year with fewer entries is
	// a partial or mistyped notice, not a real one.
	MinOffDaysPerYear = 11
)

// Header is the first line of a calendar file.
const Header = "date,kind,name"

// Parse reads a calendar file: the header date,kind,name, then one line per
// listed day: YYYY-MM-DD, off (a day off) or work (a make-up working
// weekend, 调休), and the holiday's name. Every problem is reported in
// Chinese with its line and date: a malformed or impossible date, an
// unknown kind, a missing name, a day listed twice, a work day that is not
// a weekend, a year with too few days off (MinOffDaysPerYear) and a gap
// between the years covered.
func Parse(b []byte) (*Calendar, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a BOM from spreadsheet exports
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, daiban.Invalid("file", "日历文件第 %d 行格式错误：%v", pe.Line, pe.Err)
		}
		return nil, daiban.Invalid("file", "日历文件格式错误：%v", err)
	}
	if len(rows) == 0 || strings.Join(trimAll(rows[0]), ",") != Header {
		return nil, daiban.Invalid("file", "日历文件第 1 行应为表头 %s", Header)
	}
	if len(rows) == 1 {
		return nil, daiban.Invalid("file", "日历文件没有列出任何日期")
	}
	seen := map[string]int{}
	var days []Day
	for i, rec := range rows[1:] {
		line := i + 2
		rec = trimAll(rec)
		if len(rec) == 1 && rec[0] == "" {
			continue // a blank line
		}
		if len(rec) != 3 {
			return nil, daiban.Invalid("file", "第 %d 行应有 3 列（date,kind,name），实有 %d 列", line, len(rec))
		}
		d, err := time.ParseInLocation("2006-01-02", rec[0], Shanghai)
		if err != nil || d.Format("2006-01-02") != rec[0] {
			return nil, daiban.Invalid("file", "第 %d 行日期 %q 无效：应为存在的日期，格式如 2027-01-01", line, rec[0])
		}
		if d.Year() < MinYear || d.Year() > MaxYear {
			return nil, daiban.Invalid("file", "第 %d 行日期 %s 超出 %d–%d 年的范围", line, rec[0], MinYear, MaxYear)
		}
		switch rec[1] {
		case "off", "work":
		default:
			return nil, daiban.Invalid("file", "第 %d 行（%s）类型 %q 无效，应为 off（放假）或 work（调休上班）", line, rec[0], rec[1])
		}
		if rec[2] == "" {
			return nil, daiban.Invalid("file", "第 %d 行（%s）缺少节日名称", line, rec[0])
		}
		if first, dup := seen[rec[0]]; dup {
			return nil, daiban.Invalid("file", "第 %d 行日期 %s 重复（第 %d 行已列出）", line, rec[0], first)
		}
		seen[rec[0]] = line
		if rec[1] == "work" && !weekend(d) {
			return nil, daiban.Invalid("file", "第 %d 行：%s 是%s，本来就上班，不能列为调休上班日（work 只能是周六或周日）", line, rec[0], weekdayNames[d.Weekday()])
		}
		days = append(days, Day{Date: d, Work: rec[1] == "work", Name: rec[2]})
	}
	return New(days)
}

func trimAll(rec []string) []string {
	out := make([]string, len(rec))
	for i, f := range rec {
		out[i] = strings.TrimSpace(f)
	}
	return out
}

var weekdayNames = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// WeekdayName is the Chinese name of t's weekday in Shanghai.
func WeekdayName(t time.Time) string { return weekdayNames[t.In(Shanghai).Weekday()] }

// New builds a calendar from listed days and checks the rules of Parse
// that do not need line numbers: no day twice, work days only on weekends,
// at least MinOffDaysPerYear days off in every year and no year missing
// between the first and the last.
func New(days []Day) (*Calendar, error) {
	c := build(days)
	if len(c.days) != len(days) {
		seen := map[string]bool{}
		for _, d := range days {
			k := d.Date.Format("2006-01-02")
			if seen[k] {
				return nil, daiban.Invalid("file", "日期 %s 重复", k)
			}
			seen[k] = true
		}
	}
	offs := map[int]int{}
	for _, d := range c.days {
		if d.Work && !weekend(d.Date) {
			return nil, daiban.Invalid("file", "%s 是%s，本来就上班，不能列为调休上班日", d.Date.Format("2006-01-02"), weekdayNames[d.Date.Weekday()])
		}
		if !d.Work {
			offs[d.Date.Year()]++
		}
	}
	years := c.Years()
	if len(years) == 0 {
		return nil, daiban.Invalid("file", "日历没有列出任何日期")
	}
	for y := years[0]; y <= years[len(years)-1]; y++ {
		if !c.years[y] {
			return nil, daiban.Invalid("file", "缺少 %d 年的节假日安排：日历覆盖 %s，年份必须连续", y, yearList(years))
		}
		if offs[y] < MinOffDaysPerYear {
			return nil, daiban.Invalid("file", "%d 年只列出 %d 个放假日，不是完整的国务院节假日安排（每年至少 %d 个）", y, offs[y], MinOffDaysPerYear)
		}
	}
	return c, nil
}

// build makes a calendar from days without checking them (days already
// checked when they were imported).
func build(days []Day) *Calendar {
	c := &Calendar{days: map[string]Day{}, years: map[int]bool{}}
	for _, d := range days {
		d.Date = Date(d.Date)
		c.days[d.Date.Format("2006-01-02")] = d
		c.years[d.Date.Year()] = true
	}
	return c
}

func yearList(ys []int) string {
	parts := make([]string, len(ys))
	for i, y := range ys {
		parts[i] = fmt.Sprintf("%d", y)
	}
	return strings.Join(parts, "、") + " 年"
}

// Merge returns the calendar that replaces, in c, every year next covers
// by next's days for it, and checks the result like New (no year missing
// in between).
func (c *Calendar) Merge(next *Calendar) (*Calendar, error) {
	var days []Day
	for _, d := range c.days {
		if !next.years[d.Date.Year()] {
			days = append(days, d)
		}
	}
	for _, d := range next.days {
		days = append(days, d)
	}
	return New(days)
}

// CSV writes the calendar in the file format Parse reads.
func (c *Calendar) CSV() []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	w := csv.NewWriter(&b)
	for _, d := range c.Days() {
		kind := "off"
		if d.Work {
			kind = "work"
		}
		_ = w.Write([]string{d.Date.Format("2006-01-02"), kind, d.Name})
	}
	w.Flush()
	return b.Bytes()
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

// YearsText names years for a person: "2026、2027 年".
func YearsText(ys []int) string {
	s := make([]string, len(ys))
	for i, y := range ys {
		s[i] = strconv.Itoa(y)
	}
	return strings.Join(s, "、") + " 年"
}
