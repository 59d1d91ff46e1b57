package deadlines_test

import (
	"testing"
	"time"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func ev(when string, from, to cases.State) deadlines.ClockEvent {
	return deadlines.ClockEvent{At: at(when), From: from, To: to}
}

// Without pauses the due date is the plain count: AddWorkdays.
func TestDueDateWithoutPauses(t *testing.T) {
	cal := calendar.Default()
	for d := at("2024-01-01 10:00"); d.Before(at("2026-12-01 10:00")); d = d.AddDate(0, 0, 3) {
		for _, n := range []int{1, 3, 5, 15, 20} {
			events := []deadlines.ClockEvent{{At: d, From: cases.AgreementPending, To: cases.Delegated}, {At: d.Add(time.Hour), From: cases.Delegated, To: cases.Processing}}
			got, paused := deadlines.DueDate(cal, d, n, events)
			if want := cal.AddWorkdays(d, n); !got.Equal(want) || paused != 0 {
				t.Fatalf("signed %s, %d days: %s (%d paused), want %s", d, n, got.Format("2006-01-02"), paused, want.Format("2006-01-02"))
			}
		}
	}
}

// Paused time comes off the count: a working day counts when the clock
// runs at its close.
func TestDueDateWithPauses(t *testing.T) {
	cal := calendar.Default()
	signed := "2026-03-02 09:00" // Monday; 5 days: Tue 3 .. Mon 9
	tests := []struct {
		name   string
		events []deadlines.ClockEvent
		due    string
		paused int
	}{
		{"none", nil, "2026-03-09", 0},
		{"same day", []deadlines.ClockEvent{
			ev("2026-03-04 10:00", cases.Processing, cases.Suspended), ev("2026-03-04 16:00", cases.Suspended, cases.Processing),
		}, "2026-03-09", 0},
		// Suspended Wednesday 10:00, resumed Thursday 15:00: Wednesday ends
		// paused and does not count; Thursday does.
		{"overnight", []deadlines.ClockEvent{
			ev("2026-03-04 10:00", cases.Processing, cases.Suspended), ev("2026-03-05 15:00", cases.Suspended, cases.Processing),
		}, "2026-03-10", 1},
		// At a higher authority from Tuesday to the next Monday: Tue–Fri
		// (4 working days) come off.
		{"escalated", []deadlines.ClockEvent{
			ev("2026-03-03 11:00", cases.Processing, cases.Escalated), ev("2026-03-09 09:00", cases.Escalated, cases.Processing),
		}, "2026-03-13", 4},
		// Escalated, returned for materials, supplied back to the
		// authority, suspended there, resumed, replied: one pause.
		{"chain", []deadlines.ClockEvent{
			ev("2026-03-03 11:00", cases.Processing, cases.Escalated),
			ev("2026-03-04 11:00", cases.Escalated, cases.AwaitingMaterials),
			ev("2026-03-05 11:00", cases.AwaitingMaterials, cases.Escalated),
			ev("2026-03-05 12:00", cases.Escalated, cases.Suspended),
			ev("2026-03-06 12:00", cases.Suspended, cases.Escalated),
			ev("2026-03-06 16:00", cases.Escalated, cases.Processing),
		}, "2026-03-12", 3},
		// A pause still going on is not counted: the due date stays.
		{"open pause", []deadlines.ClockEvent{
			ev("2026-03-03 11:00", cases.Processing, cases.Suspended),
		}, "2026-03-09", 0},
		// Events before the signing (materials asked for before the
		// agreement) do not matter.
		{"before signing", []deadlines.ClockEvent{
			ev("2026-02-20 11:00", cases.Consultation, cases.AwaitingMaterials), ev("2026-02-25 11:00", cases.AwaitingMaterials, cases.Consultation),
		}, "2026-03-09", 0},
	}
	for _, tc := range tests {
		got, paused := deadlines.DueDate(cal, at(signed), 5, tc.events)
		if got.Format("2006-01-02") != tc.due || paused != tc.paused {
			t.Errorf("%s: due %s (%d paused), want %s (%d)", tc.name, got.Format("2006-01-02"), paused, tc.due, tc.paused)
		}
	}
}

// A pause over the Spring Festival: only working days come off, and the
// make-up Saturdays count when the clock runs.
func TestDueDatePauseOverSpringFestival(t *testing.T) {
	cal := calendar.Default()
	// Signed Thursday 12 February 2026, 5 days: due 26 February.
	signed := at("2026-02-12 09:00")
	if d, _ := deadlines.DueDate(cal, signed, 5, nil); d.Format("2006-01-02") != "2026-02-26" {
		t.Fatalf("due %s", d.Format("2006-01-02"))
	}
	// Suspended Friday 13th, resumed Tuesday 24th: the 13th and the
	// make-up Saturday 14th come off; the holiday was off anyway. The 24th
	// counts: 24, 25, 26, 27, then Saturday 28 (make-up day).
	events := []deadlines.ClockEvent{
		ev("2026-02-13 10:00", cases.Delegated, cases.Suspended), ev("2026-02-24 09:00", cases.Suspended, cases.Delegated),
	}
	d, paused := deadlines.DueDate(cal, signed, 5, events)
	if d.Format("2006-01-02") != "2026-02-28" || paused != 2 {
		t.Fatalf("due %s, %d paused; want 2026-02-28, 2", d.Format("2006-01-02"), paused)
	}
	if got := deadlines.Pauses(signed, events); len(got) != 1 || !got[0].From.Equal(at("2026-02-13 10:00")) {
		t.Fatalf("pauses %v", got)
	}
}

func TestClockStates(t *testing.T) {
	for _, s := range cases.States {
		runs, stopped := s.ClockRuns(), s.ClockStopped()
		if runs && stopped {
			t.Errorf("%s both runs and is stopped", s)
		}
		if !s.Open() && (runs || stopped) {
			t.Errorf("closed state %s has a clock", s)
		}
	}
}

// The calendar reminder is due from 1 November (Beijing time) of the last
// covered year, and stays due once that year is over; the provisional
// mark follows the years covered, not a guess.
func TestCalendarReminderAndProvisional(t *testing.T) {
	cal := calendar.Default() // ends with 2026
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{at("2026-10-31 23:59"), false},
		{at("2026-11-01 00:00"), true},
		{at("2026-12-06 10:00"), true},
		{at("2027-03-01 09:00"), true},
		{at("2025-11-15 09:00"), false},
	} {
		if got := deadlines.ReminderDue(cal, tc.now); got != tc.want {
			t.Errorf("reminder due at %s: %v, want %v", tc.now, got, tc.want)
		}
	}
	for day, want := range map[string]bool{"2026-12-31": false, "2027-01-01": true, "2024-01-02": false, "": false, "2023-12-29": true} {
		if got := cases.Provisional(cal, day); got != want {
			t.Errorf("Provisional(%q) = %v, want %v", day, got, want)
		}
	}
}
