package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestBookingLimits: one phone holds at most two bookings not yet come
// to and books at most five times a day (so nobody floods a stranger's
// phone with codes or takes a township's places with one number), and no
// slot is opened or booked in a year whose holidays are not imported.
func TestBookingLimits(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Date(2026, 12, 21, 8, 0, 0, 0, calendar.Shanghai)) // a Monday
	box := &codeBox{}
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now, CodeSender: box})
	env.User(t, "bl.admin", "admin", "370323")
	admin := env.Token(t, "bl.admin")

	r := env.Do(t, admin, http.MethodPost, "/api/v1/appointments/slots", map[string]any{"region": "370323001", "from": "2026-12-28", "to": "2027-01-05", "am": 5, "pm": 5}, nil)
	if r.ErrorCode() != "invalid" || !strings.Contains(string(r.Body), "2027 年的节假日安排尚未导入") {
		t.Fatalf("slots in a year without its holidays: %d %s", r.Status, r.Body)
	}
	env.Do(t, admin, http.MethodPost, "/api/v1/appointments/slots", map[string]any{"region": "370323001", "from": "2026-12-22", "to": "2026-12-31", "am": 5, "pm": 5}, nil).Must(t, http.StatusOK)
	if e := env.Do(t, "", http.MethodPost, "/api/v1/appointments", map[string]any{"region": "370323001", "matter": "GT001", "slot": "2027-01-04/am", "name": "王堃", "phone": "13905330001"}, nil); e.ErrorCode() != "invalid" || !strings.Contains(string(e.Body), "2027 年的节假日安排尚未公布导入") {
		t.Fatalf("a booking in 2027: %d %s", e.Status, e.Body)
	}

	book := func(phone, slot string) apptest.Response {
		return env.Do(t, "", http.MethodPost, "/api/v1/appointments", map[string]any{"region": "370323001", "matter": "GT001", "slot": slot, "name": "李犇", "phone": phone}, nil)
	}
	first := book("13905331111", "2026-12-22/am").Must(t, http.StatusCreated)
	book("13905331111", "2026-12-23/am").Must(t, http.StatusCreated)
	third := book("13905331111", "2026-12-24/am")
	if third.ErrorCode() != "invalid" || !strings.Contains(string(third.Body), `"field":"phone"`) || !strings.Contains(string(third.Body), "2 个未到期的预约") {
		t.Fatalf("a third open booking for one phone: %d %s", third.Status, third.Body)
	}
	// Cancelling one frees its place in the count; the day's texts still
	// count: booked and cancelled three more times makes five texts.
	env.Do(t, "", http.MethodDelete, "/api/v1/appointments/"+first.JSON["code"].(string), nil, nil).Must(t, http.StatusOK)
	for _, slot := range []string{"2026-12-24/am", "2026-12-25/am", "2026-12-28/am"} {
		code := book("13905331111", slot).Must(t, http.StatusCreated).JSON["code"].(string)
		env.Do(t, "", http.MethodDelete, "/api/v1/appointments/"+code, nil, nil).Must(t, http.StatusOK)
	}
	sixth := book("13905331111", "2026-12-29/am")
	if sixth.ErrorCode() != "invalid" || !strings.Contains(string(sixth.Body), "24 小时内预约次数过多") {
		t.Fatalf("a sixth booking today: %d %s", sixth.Status, sixth.Body)
	}
	// Another phone is not affected, and the next day the first one books again.
	book("13905332222", "2026-12-28/am").Must(t, http.StatusCreated)
	clock.Set(clock.Now().Add(25 * time.Hour))
	if r := book("13905331111", "2026-12-28/pm"); r.Status != http.StatusCreated {
		t.Fatalf("the next day: %d %s", r.Status, r.Body)
	}
	box.mu.Lock()
	n := len(box.sent["13905331111"])
	box.mu.Unlock()
	if n != 6 {
		t.Errorf("%d codes sent to the phone, want 6", n)
	}
}
