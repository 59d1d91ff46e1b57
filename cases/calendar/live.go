package calendar

import (
	"sync/atomic"
	"time"
)

// Live is the calendar in force in a running server. A Calendar never
// changes; when a new notice is imported, Live swaps in the new one (with
// the database version it was read at), and every reader sees either the
// old or the new calendar whole. It answers the same questions as Calendar,
// always from the current one.
type Live struct {
	cur atomic.Pointer[versioned]
}

type versioned struct {
	cal     *Calendar
	version int64
}

// NewLive returns a Live holding c at version (0: not read from the
// database).
func NewLive(c *Calendar, version int64) *Live {
	l := &Live{}
	l.cur.Store(&versioned{cal: c, version: version})
	return l
}

// Current returns the calendar in force.
func (l *Live) Current() *Calendar { return l.cur.Load().cal }

// Version returns the database version of the calendar in force.
func (l *Live) Version() int64 { return l.cur.Load().version }

// Set installs c read at version, unless a newer version is in force
// already (a slow reader never rolls the calendar back).
func (l *Live) Set(c *Calendar, version int64) bool {
	for {
		old := l.cur.Load()
		if old.version > version || (old.version == version && old.cal != nil && version != 0) {
			return false
		}
		if l.cur.CompareAndSwap(old, &versioned{cal: c, version: version}) {
			return true
		}
	}
}

// IsWorkday reports whether t's date is a working day.
func (l *Live) IsWorkday(t time.Time) bool { return l.Current().IsWorkday(t) }

// AddWorkdays is Calendar.AddWorkdays on the calendar in force.
func (l *Live) AddWorkdays(start time.Time, n int) time.Time {
	return l.Current().AddWorkdays(start, n)
}

// WorkdaysBetween is Calendar.WorkdaysBetween on the calendar in force.
func (l *Live) WorkdaysBetween(from, to time.Time) int {
	return l.Current().WorkdaysBetween(from, to)
}

// Covers reports whether the calendar in force has t's year.
func (l *Live) Covers(t time.Time) bool { return l.Current().Covers(t) }

// Years lists the years of the calendar in force.
func (l *Live) Years() []int { return l.Current().Years() }

// Days lists the days of the calendar in force.
func (l *Live) Days() []Day { return l.Current().Days() }
