package app_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/pii"
)

// codeBox is a text-message gateway for tests: it keeps every message.
type codeBox struct {
	mu   sync.Mutex
	sent map[string][]string // phone -> texts
}

func (b *codeBox) SendCode(_ context.Context, phone, _, text string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sent == nil {
		b.sent = map[string][]string{}
	}
	b.sent[phone] = append(b.sent[phone], text)
	return nil
}

var otpPattern = regexp.MustCompile(`确认码 ([0-9]{6})`)

// last returns the last one-time code sent to phone.
func (b *codeBox) last(t *testing.T, phone string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs := b.sent[phone]
	if len(msgs) == 0 {
		t.Fatalf("no code sent to %s", phone)
	}
	m := otpPattern.FindStringSubmatch(msgs[len(msgs)-1])
	if m == nil {
		t.Fatalf("no code in %q", msgs[len(msgs)-1])
	}
	return m[1]
}

// TestAppointments: a township's administrator opens slots (holidays and
// weekends closed from the calendar, make-up Saturdays open); an applicant
// books without an account, confirms with the code sent to the phone, or
// cancels with the booking code; 50 applicants at once never get more
// places than the slot has; the agent sees today's bookings (phones
// masked) and turns one into a case in one step.
func TestAppointments(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Date(2026, 9, 21, 8, 0, 0, 0, calendar.Shanghai)) // a Monday
	box := &codeBox{}
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now, CodeSender: box})
	env.User(t, "ap.admin", "admin", "370323")
	env.User(t, "ap.town", "township_agent", "370323001")
	env.User(t, "ap.other", "township_agent", "370323002")
	admin, agent, other := env.Token(t, "ap.admin"), env.Token(t, "ap.town"), env.Token(t, "ap.other")

	t.Run("open slots", func(t *testing.T) {
		r := env.Do(t, admin, http.MethodPost, "/api/v1/appointments/slots", map[string]any{"region": "370323001", "from": "2026-09-21", "to": "2026-10-11", "am": 5, "pm": 3}, nil).Must(t, http.StatusOK)
		skipped := fmt.Sprint(r.JSON["skipped"])
		for _, d := range []string{"2026-09-25", "2026-09-26", "2026-10-01", "2026-10-07", "2026-10-11"} {
			if !strings.Contains(skipped, d) {
				t.Errorf("%s not skipped: %s", d, skipped)
			}
		}
		if strings.Contains(skipped, "2026-10-10") || strings.Contains(skipped, "2026-09-21") {
			t.Errorf("a working day skipped: %s", skipped)
		}
		if n := len(r.JSON["slots"].([]any)); n != 2*10 { // 9-21..24, 9-28..30, 10-08..10
			t.Errorf("%d slots opened, want 20", n)
		}
		if e := env.Do(t, other, http.MethodPost, "/api/v1/appointments/slots", map[string]any{"region": "370323001", "from": "2026-09-22", "to": "2026-09-22", "am": 1, "pm": 1}, nil); e.Status != http.StatusNotFound {
			t.Errorf("another township's agent opened slots: %d", e.Status)
		}
		if e := env.Do(t, admin, http.MethodPost, "/api/v1/appointments/slots", map[string]any{"region": "370323001001", "from": "2026-09-22", "to": "2026-09-22", "am": 1}, nil); e.ErrorCode() != "invalid" {
			t.Errorf("slots at a village: %d %s", e.Status, e.Body)
		}
	})
	t.Run("public slots", func(t *testing.T) {
		r := env.Do(t, "", http.MethodGet, "/api/v1/appointments/slots?region=370323001&matter=GT001", nil, nil).Must(t, http.StatusOK)
		items := r.JSON["items"].([]any)
		first := items[0].(map[string]any)
		if len(items) != 20 || first["slot"] != "2026-09-21/am" || first["remaining"] != float64(5) || !strings.Contains(first["label"].(string), "上午") {
			t.Fatalf("slots: %s", r.Body)
		}
	})
	t.Run("50 at once", func(t *testing.T) {
		var wg sync.WaitGroup
		statuses := make([]int, 50)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"region": "370323001", "matter": "GT001", "slot": "2026-09-22/pm", "name": fmt.Sprintf("申请人%d", i), "phone": fmt.Sprintf("139%08d", i)}
				statuses[i] = env.Do(t, "", http.MethodPost, "/api/v1/appointments", body, nil).Status
			}()
		}
		wg.Wait()
		ok, full := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				ok++
			case http.StatusUnprocessableEntity:
				full++
			}
		}
		var booked, rows int
		if err := env.Pool.QueryRow(context.Background(), "SELECT booked, (SELECT count(*) FROM appointments WHERE slot_id = s.id) FROM appointment_slots s WHERE region = '370323001' AND day = '2026-09-22' AND half = 'pm'").Scan(&booked, &rows); err != nil {
			t.Fatal(err)
		}
		if ok != 3 || full != 47 || booked != 3 || rows != 3 {
			t.Fatalf("capacity 3: %d booked, %d refused, slot says %d, %d rows", ok, full, booked, rows)
		}
	})
	var code string
	t.Run("book, confirm, cancel", func(t *testing.T) {
		body := map[string]any{"region": "370323001", "matter": "YJS001", "slot": "2026-09-21/pm", "name": "张喆", "phone": "13805331201"}
		r := env.Do(t, "", http.MethodPost, "/api/v1/appointments", body, nil).Must(t, http.StatusCreated)
		code = r.JSON["code"].(string)
		if r.JSON["code_sent"] != true {
			t.Fatalf("no code sent: %s", r.Body)
		}
		otp := box.last(t, "13805331201")
		wrong := "000000"
		if otp == wrong {
			wrong = "111111"
		}
		if e := env.Do(t, "", http.MethodPost, "/api/v1/appointments/"+code+"/confirm", map[string]any{"otp": wrong}, nil); e.ErrorCode() != "invalid" || !strings.Contains(string(e.Body), "还可尝试 4 次") {
			t.Fatalf("wrong code: %d %s", e.Status, e.Body)
		}
		c := env.Do(t, "", http.MethodPost, "/api/v1/appointments/"+code+"/confirm", map[string]any{"otp": otp}, nil).Must(t, http.StatusOK)
		if c.JSON["status"] != "confirmed" || c.JSON["phone"] != "138****1201" {
			t.Fatalf("confirm: %s", c.Body)
		}
		for _, bad := range []map[string]any{{"region": "370323001", "matter": "GT001", "slot": "2026-09-25/am", "name": "王堃", "phone": "18653301103"},
			{"region": "370323001", "matter": "GT001", "slot": "2026-09-23/am", "name": "王堃", "phone": "123"}} {
			if e := env.Do(t, "", http.MethodPost, "/api/v1/appointments", bad, nil); e.ErrorCode() != "invalid" {
				t.Errorf("bad booking %v accepted: %d", bad, e.Status)
			}
		}
		wang := map[string]any{"region": "370323001", "matter": "GT001", "slot": "2026-09-23/am", "name": "王堃", "phone": "18653301103"}
		key := map[string]string{"Idempotency-Key": "wang-23am"}
		other := env.Do(t, "", http.MethodPost, "/api/v1/appointments", wang, key).Must(t, http.StatusCreated)
		oc := other.JSON["code"].(string)
		if again := env.Do(t, "", http.MethodPost, "/api/v1/appointments", wang, key).Must(t, http.StatusCreated); again.JSON["code"] != oc {
			t.Errorf("the same request again booked %v, want %s", again.JSON["code"], oc)
		}
		wang["name"] = "王某"
		if e := env.Do(t, "", http.MethodPost, "/api/v1/appointments", wang, key); e.ErrorCode() != "invalid" {
			t.Errorf("another booking with the same key: %d %s", e.Status, e.Body)
		}
		env.Do(t, "", http.MethodDelete, "/api/v1/appointments/"+oc, nil, nil).Must(t, http.StatusOK)
		if e := env.Do(t, "", http.MethodDelete, "/api/v1/appointments/"+oc, nil, nil); e.Status != http.StatusConflict {
			t.Errorf("cancelled twice: %d", e.Status)
		}
		s := env.Do(t, "", http.MethodGet, "/api/v1/appointments/slots?region=370323001", nil, nil)
		if !strings.Contains(string(s.Body), `"slot":"2026-09-23/am","region":"370323001","day":"2026-09-23","half":"am","label":"9月23日 周三 上午","capacity":5,"booked":0`) {
			t.Errorf("the cancelled place is not free again: %s", s.Body)
		}
	})
	t.Run("desk and case", func(t *testing.T) {
		l := env.Do(t, agent, http.MethodGet, "/api/v1/appointments", nil, nil).Must(t, http.StatusOK)
		if !strings.Contains(string(l.Body), code) || strings.Contains(string(l.Body), "13805331201") || !strings.Contains(string(l.Body), "138****1201") {
			t.Fatalf("today's list: %s", l.Body)
		}
		if o := env.Do(t, other, http.MethodGet, "/api/v1/appointments", nil, nil).Must(t, http.StatusOK); strings.Contains(string(o.Body), code) {
			t.Errorf("another township sees the booking")
		}
		if e := env.Do(t, other, http.MethodPost, "/api/v1/appointments/"+code+"/case", map[string]any{"kind": "person", "id_number": "37032319850312201X"}, nil); e.Status != http.StatusNotFound {
			t.Errorf("another township's agent opened the case: %d", e.Status)
		}
		r := env.Do(t, agent, http.MethodPost, "/api/v1/appointments/"+code+"/case", map[string]any{"kind": "person", "id_number": "37032319850312201X"}, nil).Must(t, http.StatusCreated)
		c := env.Do(t, agent, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", int64(r.JSON["id"].(float64))), nil, nil).Must(t, http.StatusOK)
		ap := c.JSON["applicant"].(map[string]any)
		if ap["name"] != "张喆" || ap["phone"] != "13805331201" || c.JSON["channel"] != "online" || !strings.Contains(string(c.Body), "开办餐馆一件事") {
			t.Fatalf("case from the booking: %s", c.Body)
		}
		g := env.Do(t, "", http.MethodGet, "/api/v1/appointments/"+code, nil, nil).Must(t, http.StatusOK)
		if g.JSON["status"] != "arrived" || g.JSON["name"] != "张*" {
			t.Errorf("booking after the case: %s", g.Body)
		}
		if e := env.Do(t, agent, http.MethodPost, "/api/v1/appointments/"+code+"/case", map[string]any{"kind": "person", "id_number": "37032319850312201X"}, nil); e.Status < 400 {
			t.Errorf("a booking became two cases")
		}
	})
	t.Run("no-shows in the monthly report", func(t *testing.T) {
		clock.Set(time.Date(2026, 10, 12, 9, 0, 0, 0, calendar.Shanghai))
		r := env.Do(t, agent, http.MethodGet, "/api/v1/reports/monthly?month=2026-09&region=370323001", nil, nil).Must(t, http.StatusOK)
		total := r.JSON["total"].(map[string]any)
		if total["appointments"] != float64(4) || total["no_shows"] != float64(3) { // 3 never came on 9-22; 1 came; 1 cancelled
			t.Fatalf("report: appointments %v, no-shows %v", total["appointments"], total["no_shows"])
		}
		pdf := env.Do(t, agent, http.MethodGet, "/api/v1/reports/monthly.pdf?month=2026-09&region=370323001", nil, nil).Must(t, http.StatusOK)
		if text := strings.Join(strings.Fields(pdftotext(t, pdf.Body)), ""); !strings.Contains(text, "预约未到3人次") {
			t.Errorf("the PDF does not count the no-shows")
		}
	})
	t.Run("key rotation re-seals the phones", func(t *testing.T) {
		if _, err := pii.Rotate(env.Keys); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // the server rereads pii.key
		n, err := appointments.Reseal(context.Background(), env.Pool, env.App.PII)
		if err != nil || n != 5 { // 3 at once, 1 cancelled, 1 that became a case
			t.Fatalf("re-sealed %d phones (%v), want 5", n, err)
		}
		if g := env.Do(t, "", http.MethodGet, "/api/v1/appointments/"+code, nil, nil).Must(t, http.StatusOK); g.JSON["phone"] != "138****1201" {
			t.Errorf("after re-sealing: %s", g.Body)
		}
	})
}
