package calendar_test

import (
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
)

// FuzzParse: a calendar file never panics the importer; a refusal is
// EINVALID with a message; an accepted file lists days that agree with
// IsWorkday and Covers, keeps the file's rules, and round-trips through CSV.
func FuzzParse(f *testing.F) {
	builtin := calendar.Default().CSV()
	f.Add(builtin)
	var y26 []string
	for _, l := range strings.Split(string(builtin), "\n") {
		if strings.HasPrefix(l, "2026-") {
			y26 = append(y26, l)
		}
	}
	one := "date,kind,name\n" + strings.Join(y26, "\n") + "\n"
	f.Add([]byte(one))
	f.Add([]byte("\ufeffdate, kind, name\r\n\r\n" + strings.Join(y26, "\r\n")))
	for _, s := range []string{
		"", "date,kind,name\n", "day,type,name\n2026-01-01,off,元旦\n", "date,kind,name\n2026-02-30,off,春节\n",
		"date,kind,name\n2026/01/01,off,元旦\n", "date,kind,name\n1999-10-01,off,国庆节\n", "date,kind,name\n2026-01-01,holiday,元旦\n",
		"date,kind,name\n2026-01-01,off,\n", "date,kind,name\n2026-01-01,off\n", "date,kind,name\n2026-03-03,work,春节\n",
		"date,kind,name\n2026-01-01,off,\"元旦\n", "date,kind,name\n2100-12-31,off,x\n", "date,kind,name\n2000-01-01,work,x\n",
		"date,kind,name\n+2026-01-01,off,x\n", "date,kind,name\n2026-01-01T00:00:00Z,off,x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := calendar.Parse(data)
		if err != nil {
			if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorMessage(err) == "" {
				t.Fatalf("%q: %v", data, err)
			}
			return
		}
		days := c.Days()
		if len(days) == 0 {
			t.Fatalf("%q: accepted with no days", data)
		}
		offs := map[int]int{}
		for i, d := range days {
			if i > 0 && !days[i-1].Date.Before(d.Date) {
				t.Fatalf("days out of order or repeated: %v then %v", days[i-1].Date, d.Date)
			}
			if d.Date.Year() < calendar.MinYear || d.Date.Year() > calendar.MaxYear {
				t.Fatalf("%v outside the years allowed", d.Date)
			}
			if !calendar.Date(d.Date).Equal(d.Date) {
				t.Fatalf("%v is not a Shanghai midnight", d.Date)
			}
			if d.Name == "" || d.Name != strings.TrimSpace(d.Name) {
				t.Fatalf("%v: name %q", d.Date, d.Name)
			}
			wd := d.Date.Weekday()
			if d.Work && wd != time.Saturday && wd != time.Sunday {
				t.Fatalf("work day %v on a %v", d.Date, wd)
			}
			// Every listed day reads back as its kind, at any hour of it.
			for _, h := range []int{0, 12, 23} {
				at := d.Date.Add(time.Duration(h) * time.Hour)
				if c.IsWorkday(at) != d.Work {
					t.Fatalf("%v listed work=%v but IsWorkday says %v", at, d.Work, !d.Work)
				}
				if !c.Covers(at) {
					t.Fatalf("%v listed but not covered", at)
				}
			}
			if !d.Work {
				offs[d.Date.Year()]++
			}
		}
		years := c.Years()
		for y := years[0]; y <= years[len(years)-1]; y++ {
			if offs[y] < calendar.MinOffDaysPerYear {
				t.Fatalf("year %d accepted with %d days off", y, offs[y])
			}
		}
		again, err := calendar.Parse(c.CSV())
		if err != nil {
			t.Fatalf("CSV of an accepted calendar refused: %v\n%s", err, c.CSV())
		}
		if string(again.CSV()) != string(c.CSV()) {
			t.Fatalf("round trip changed the calendar")
		}
		if _, err := c.Merge(again); err != nil {
			t.Fatalf("merging a calendar with itself: %v", err)
		}
	})
}
