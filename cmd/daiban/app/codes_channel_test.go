package app_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/partners"
)

// TestOneTimeCodesGoThroughTheTextChannel books a consultation with an
// SMS gateway partner set up: the booking's one-time code reaches the
// gateway's webhook signed like every notification, and the applicant
// confirms with what the gateway got. Without a gateway the code is
// logged with the phone masked and no digits of the code.
func TestOneTimeCodesGoThroughTheTextChannel(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Date(2026, 9, 21, 8, 0, 0, 0, calendar.Shanghai)) // a Monday
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now})
	env.User(t, "oc.admin", "admin", "370323")
	env.Do(t, env.Token(t, "oc.admin"), http.MethodPost, "/api/v1/appointments/slots",
		map[string]any{"region": "370323001", "from": "2026-09-21", "to": "2026-09-25", "am": 5, "pm": 5}, nil).Must(t, http.StatusOK)
	book := func(phone string) string {
		r := env.Do(t, "", http.MethodPost, "/api/v1/appointments", map[string]any{
			"region": "370323001", "matter": "GT001", "slot": "2026-09-22/am", "name": "李犇", "phone": phone}, nil).Must(t, http.StatusCreated)
		if r.JSON["code_sent"] != true {
			t.Fatalf("code not sent: %s", r.Body)
		}
		return r.JSON["code"].(string)
	}

	// No gateway: the log says a code went out, without the phone or the code.
	book("13905331288")
	logs := env.Logs.String()
	if !strings.Contains(logs, "139****1288") || strings.Contains(logs, "13905331288") || strings.Contains(logs, "确认码") {
		t.Fatalf("log without a gateway: %s", logs[max(0, len(logs)-2000):])
	}

	rcv := newReceiver(t)
	_, key, err := env.App.Partners.Add(t.Context(), "oc.admin", "省短信平台", partners.SMS, rcv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rcv.rc.Key = []byte(key)
	code := book("13905331299")
	rcv.mu.Lock()
	bodies := rcv.got[""]
	rcv.mu.Unlock()
	if len(bodies) != 1 {
		t.Fatalf("gateway got %d one-time code messages, want 1: %v", len(bodies), rcv.got)
	}
	var p notify.CodePayload
	if err := json.Unmarshal([]byte(bodies[0]), &p); err != nil {
		t.Fatal(err)
	}
	otp := regexp.MustCompile(`确认码 (\d{6})`).FindStringSubmatch(p.Text)
	if p.Event != notify.CodeEvent || p.Phone != "13905331299" || p.Purpose != "appointment" || otp == nil || !strings.Contains(p.Text, code) {
		t.Fatalf("gateway body: %+v", p)
	}
	c := env.Do(t, "", http.MethodPost, "/api/v1/appointments/"+code+"/confirm", map[string]any{"otp": otp[1]}, nil).Must(t, http.StatusOK)
	if c.JSON["status"] != "confirmed" {
		t.Fatalf("confirm with the gateway's code: %s", c.Body)
	}
}
