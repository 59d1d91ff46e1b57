package calendar_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
)

func day(s string) time.Time {
	d, err := time.ParseInLocation("2006-01-02", s, calendar.Shanghai)
	if err != nil {
		panic(err)
	}
	return d
}

// TestPublishedNotices checks the built-in calendar against the State
// Council notices (国务院办公厅关于部分节假日安排的通知) for 2024, 2025
// and 2026: every holiday span is off and every make-up weekend (调休) is
// a working day.
func TestPublishedNotices(t *testing.T) {
	c := calendar.Default()
	type span struct{ from, to string }
	off := []span{
		// 2024
		{"2024-01-01", "2024-01-01"}, {"2024-02-10", "2024-02-17"}, {"2024-04-04", "2024-04-06"},
		{"2024-05-01", "2024-05-05"}, {"2024-06-10", "2024-06-10"}, {"2024-09-15", "2024-09-17"},
		{"2024-10-01", "2024-10-07"},
		// 2025 (from 2025 the Spring Festival and Labour Day gain a day each)
		{"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
		{"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"},
		// 2026
		{"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
		{"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"},
		{"2026-10-01", "2026-10-07"},
	}
	for _, s := range off {
		for d := day(s.from); !d.After(day(s.to)); d = d.AddDate(0, 0, 1) {
			if c.IsWorkday(d) {
				t.Errorf("%s should be a day off", d.Format("2006-01-02"))
			}
		}
	}
	work := map[string]time.Weekday{
		"2024-02-04": time.Sunday, "2024-02-18": time.Sunday, "2024-04-07": time.Sunday, "2024-04-28": time.Sunday,
		"2024-05-11": time.Saturday, "2024-09-14": time.Saturday, "2024-09-29": time.Sunday, "2024-10-12": time.Saturday,
		"2025-01-26": time.Sunday, "2025-02-08": time.Saturday, "2025-04-27": time.Sunday, "2025-09-28": time.Sunday,
		"2025-10-11": time.Saturday,
		"2026-01-04": time.Sunday, "2026-02-14": time.Saturday, "2026-02-28": time.Saturday, "2026-05-09": time.Saturday,
		"2026-09-20": time.Sunday, "2026-10-10": time.Saturday,
	}
	for s, wd := range work {
		d := day(s)
		if d.Weekday() != wd {
			t.Errorf("%s is a %s, the test expects %s", s, d.Weekday(), wd)
		}
		if !c.IsWorkday(d) {
			t.Errorf("%s (%s) is a make-up working day", s, wd)
		}
	}
	// Ordinary days follow the plain rule.
	for s, want := range map[string]bool{"2026-03-02": true, "2026-03-07": false, "2026-03-08": false, "2025-07-15": true, "2024-12-28": false} {
		if c.IsWorkday(day(s)) != want {
			t.Errorf("%s: workday %v, want %v", s, !want, want)
		}
	}
	if fmt.Sprint(c.Years()) != "[2024 2025 2026]" {
		t.Errorf("years %v", c.Years())
	}
	// 2026 has 248 working days: 365 days - 104 weekend days - 19
	// weekdays off + 6 make-up weekend days.
	if n := c.WorkdaysBetween(day("2025-12-31"), day("2026-12-31")); n != 248 {
		t.Errorf("2026 has %d working days, want 248", n)
	}
}

// TestDeadlinesAcrossHolidays counts limits across the 2026 Spring
// Festival and National Day, including their make-up Saturdays and
// Sundays; the signing day never counts.
func TestDeadlinesAcrossHolidays(t *testing.T) {
	c := calendar.Default()
	cases := []struct {
		signed string
		n      int
		due    string
	}{
		// Signed on the Thursday before the Spring Festival: Fri 13, the
		// make-up Saturday 14, then Tue 24, Wed 25, Thu 26.
		{"2026-02-12", 5, "2026-02-26"},
		// Signed on the Friday right before it: the make-up Saturday is the
		// first working day, the holiday (15–23) none.
		{"2026-02-13", 5, "2026-02-27"},
		{"2026-02-13", 1, "2026-02-14"},
		// Signed on the make-up Saturday: the limit ends on the next
		// make-up Saturday, 28 February.
		{"2026-02-14", 5, "2026-02-28"},
		// Signed on a holiday: counting starts after it.
		{"2026-02-18", 1, "2026-02-24"},
		// National Day: Sunday 20 September is a working day.
		{"2026-09-18", 2, "2026-09-21"},
		{"2026-09-19", 1, "2026-09-20"},
		// Mid-Autumn (Fri 25 to Sun 27) then National Day (1–7), Saturday
		// 10 October worked.
		{"2026-09-24", 3, "2026-09-30"},
		{"2026-09-30", 3, "2026-10-10"},
		{"2026-09-30", 4, "2026-10-12"},
		// 2025: National Day and Mid-Autumn together, 1–8 October.
		{"2025-09-30", 1, "2025-10-09"},
		{"2025-09-26", 2, "2025-09-29"},
		// A 15-working-day rectification opened on New Year's Eve 2025.
		{"2025-12-31", 15, "2026-01-22"},
	}
	for _, tc := range cases {
		// The hour of signing does not matter.
		for _, hour := range []int{0, 9, 23} {
			at := day(tc.signed).Add(time.Duration(hour) * time.Hour)
			if got := c.AddWorkdays(at, tc.n).Format("2006-01-02"); got != tc.due {
				t.Errorf("signed %s %02d:00 + %d working days = %s, want %s", tc.signed, hour, tc.n, got, tc.due)
			}
		}
		if got := c.WorkdaysBetween(day(tc.signed), day(tc.due)); got != tc.n {
			t.Errorf("working days from %s to %s: %d, want %d", tc.signed, tc.due, got, tc.n)
		}
	}
}

// TestBuiltInFileRoundTrips: the built-in data parses under the import
// rules and writes back as the same days.
func TestBuiltInFileRoundTrips(t *testing.T) {
	c := calendar.Default()
	again, err := calendar.Parse(c.CSV())
	if err != nil {
		t.Fatal(err)
	}
	if string(again.CSV()) != string(c.CSV()) {
		t.Fatal("round trip changed the calendar")
	}
	if len(c.Days()) != 108 {
		t.Errorf("%d listed days, want 108", len(c.Days()))
	}
}

func file(lines ...string) []byte {
	return []byte(strings.Join(append([]string{"date,kind,name"}, lines...), "\n") + "\n")
}

// yearLines returns the lines of the built-in calendar for year.
func yearLines(t *testing.T, year int) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(calendar.Default().CSV()), "\n") {
		if strings.HasPrefix(l, fmt.Sprint(year)+"-") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %d lines", year)
	}
	return out
}

// TestBadFiles: every kind of bad file is refused with a Chinese message
// naming the line and date at fault.
func TestBadFiles(t *testing.T) {
	y24, y25, y26 := yearLines(t, 2024), yearLines(t, 2025), yearLines(t, 2026)
	all := func(extra ...string) []string {
		out := append(append(append([]string{}, y24...), y25...), y26...)
		return append(out, extra...)
	}
	cases := []struct {
		name string
		data []byte
		want []string // substrings of the message
	}{
		{"wrong header", []byte("day,type,name\n2026-01-01,off,元旦\n"), []string{"第 1 行", "date,kind,name"}},
		{"no header", []byte(""), []string{"表头"}},
		{"header only", file(), []string{"没有列出任何日期"}},
		{"impossible date", file(append(y26[:3:3], "2026-02-30,off,春节")...), []string{"第 5 行", "2026-02-30"}},
		{"slashes", file("2026/01/01,off,元旦"), []string{"第 2 行", "2026/01/01"}},
		{"no zero padding", file("2026-1-1,off,元旦"), []string{"第 2 行", "2026-1-1"}},
		{"out of range", file("1999-10-01,off,国庆节"), []string{"第 2 行", "1999-10-01"}},
		{"bad kind", file("2026-01-01,holiday,元旦"), []string{"第 2 行", "2026-01-01", "holiday"}},
		{"no name", file("2026-01-01,off,"), []string{"第 2 行", "2026-01-01", "名称"}},
		{"columns", file("2026-01-01,off"), []string{"第 2 行", "3 列"}},
		{"duplicate day", file(append(y26[:2:2], y26[1])...), []string{"第 4 行", y26[1][:10], "重复", "第 3 行"}},
		{"work on a weekday", file("2026-03-03,work,春节"), []string{"第 2 行", "2026-03-03", "星期二"}},
		{"missing year", file(append(append([]string{}, y24...), y26...)...), []string{"缺少 2025 年", "2024、2026"}},
		{"partial year", file(all("2027-01-01,off,元旦", "2027-02-06,off,春节")...), []string{"2027 年只列出 2 个放假日"}},
		{"quote", []byte("date,kind,name\n2026-01-01,off,\"元旦\n"), []string{"第"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := calendar.Parse(tc.data)
			if err == nil {
				t.Fatalf("accepted: %v", c)
			}
			if daiban.ErrorCode(err) != daiban.EINVALID {
				t.Fatalf("code %s: %v", daiban.ErrorCode(err), err)
			}
			msg := daiban.ErrorMessage(err)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not mention %q", msg, w)
				}
			}
		})
	}
	// Good files: one year alone, the three years, blank lines, a BOM and
	// spaces around fields.
	for _, data := range [][]byte{
		file(y26...), file(all()...), []byte("\ufeffdate, kind, name\n\n" + strings.Join(y25, "\n") + "\n\n"),
	} {
		if _, err := calendar.Parse(data); err != nil {
			t.Errorf("refused a good file: %v", err)
		}
	}
}

// TestMerge: a new year joins the years loaded; a year left out between
// them is refused; a year already loaded is replaced as a whole.
func TestMerge(t *testing.T) {
	cur := calendar.Default()
	// A synthetic "2027 notice" (the real one is not out): the 2026 days
	// moved by a year, which is enough for the rules.
	var y27 []string
	for _, l := range yearLines(t, 2026) {
		d := day(l[:10]).AddDate(1, 0, 0)
		kind := "off"
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			if strings.Contains(l, ",work,") {
				continue // a make-up day that fell on a weekday a year on
			}
		} else if strings.Contains(l, ",work,") {
			continue
		}
		y27 = append(y27, d.Format("2006-01-02")+","+kind+",测试节日")
	}
	next, err := calendar.Parse(file(y27...))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := cur.Merge(next)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(merged.Years()) != "[2024 2025 2026 2027]" {
		t.Fatalf("years %v", merged.Years())
	}
	// 2028 alone would leave 2027 out.
	var y28 []string
	for _, l := range y27 {
		d := day(l[:10]).AddDate(1, 0, 0)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			y28 = append(y28, d.Format("2006-01-02")+",off,测试节日")
		}
	}
	n28, err := calendar.Parse(file(y28...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Merge(n28); err == nil || !strings.Contains(daiban.ErrorMessage(err), "缺少 2027 年") {
		t.Fatalf("2028 after 2026: %v", err)
	}
	// A corrected 2026 replaces 2026 only: an extra day off on 2 March.
	fixed, err := calendar.Parse(file(append(yearLines(t, 2026), "2026-03-02,off,测试调整")...))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := cur.Merge(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if m2.IsWorkday(day("2026-03-02")) || !cur.IsWorkday(day("2026-03-02")) {
		t.Error("the corrected 2026 did not replace the old one")
	}
	if m2.IsWorkday(day("2025-10-01")) || len(m2.Days()) != len(cur.Days())+1 {
		t.Error("other years changed")
	}
}

// TestLive: readers see whole calendars; an older version never replaces
// a newer one.
func TestLive(t *testing.T) {
	a := calendar.Default()
	l := calendar.NewLive(a, 0)
	fixed, err := calendar.Parse(file(append(yearLines(t, 2026), "2026-03-02,off,测试调整")...))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := a.Merge(fixed)
	if !l.Set(b, 3) || l.Version() != 3 || l.IsWorkday(day("2026-03-02")) {
		t.Fatal("Set v3")
	}
	if l.Set(a, 2) || l.Current() != b {
		t.Fatal("an older version replaced a newer one")
	}
	done := make(chan bool)
	go func() {
		for i := 0; i < 1000; i++ {
			_ = l.AddWorkdays(day("2026-02-27"), 5)
		}
		done <- true
	}()
	for i := int64(4); i < 100; i++ {
		c := a
		if i%2 == 0 {
			c = b
		}
		l.Set(c, i)
	}
	<-done
}
