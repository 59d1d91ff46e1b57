package app_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/partners/webhook"
)

// receiver is a partner's webhook endpoint (the reference receiver of
// package webhook) on a fixed local address that the test can take down
// and bring back.
type receiver struct {
	t    *testing.T
	addr string
	rc   *webhook.Receiver
	srv  *http.Server

	mu    sync.Mutex
	posts int                 // requests that reached the handler with a good signature
	got   map[string][]string // delivery id → bodies handled
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, got: map[string][]string{}}
	r.rc = &webhook.Receiver{Handle: func(id string, body []byte) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got[id] = append(r.got[id], string(body))
		return nil
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.down)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.posts++
		r.mu.Unlock()
		r.rc.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
}

// down kills the receiver: its listener closes and open connections drop.
func (r *receiver) down() { _ = r.srv.Close() }

// up brings it back on the same address.
func (r *receiver) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(ln)
}

// payloads returns the bodies handled, by delivery id.
func (r *receiver) payloads() map[string][]notify.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]notify.Payload{}
	for id, bodies := range r.got {
		for _, b := range bodies {
			var p notify.Payload
			if err := json.Unmarshal([]byte(b), &p); err != nil {
				r.t.Fatalf("delivery %s: %v", id, err)
			}
			out[id] = append(out[id], p)
		}
	}
	return out
}

// fastRetries delivers quickly in tests: a retry every 200 ms.
var fastRetries = notify.Config{Backoff: func(int) time.Duration { return 200 * time.Millisecond }, MaxAttempts: 100, Interval: time.Second}

// waitDelivered waits until no notification is pending.
func waitDelivered(t *testing.T, env *apptest.Env, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var pending int
		if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM notifications WHERE status = 'pending'").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			logs := env.Logs.String()
			t.Fatalf("%d notifications still pending after %s; log tail: %s", pending, within, logs[max(0, len(logs)-3000):])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestApplicantTextsAcrossReceiverOutage walks a delegated case from
// intake to handover with an SMS gateway partner whose receiver dies
// halfway and comes back: every step the applicant must hear of reaches
// the receiver exactly once, signed, under 70 characters, with the
// tracking link.
func TestApplicantTextsAcrossReceiverOutage(t *testing.T) {
	t.Parallel()
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Notify: fastRetries})
	env.User(t, "n.town", "township_agent", "370323001")
	env.User(t, "n.county", "county_agent", "370323")
	rcv := newReceiver(t)
	_, key, err := env.App.Partners.Add(t.Context(), "admin", "省短信平台", partners.SMS, rcv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rcv.rc.Key = []byte(key)
	tok := env.Token(t, "n.town")
	person := apptest.Person(t, 5)
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001", "channel": "counter", "matter": "YJS001", "applicant": person, "summary": "开餐馆"}, nil).Must(t, 201)
	id, code := int64(r.JSON["id"].(float64)), r.JSON["tracking_code"].(string)
	c := caseJSON(t, env, tok, id)
	mats := allMaterials(c)
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "supplement", "materials": mats[1:], "note": "请补交"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "supply", map[string]any{"materials": mats[:1]}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": mats}).Must(t, 200).JSON
	sign(t, env, "n.town", id, true)
	c = caseJSON(t, env, tok, id)
	c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "已送审批局"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "escalate", map[string]any{"level": "city", "authority": "淄博市行政审批服务局", "tracker": "n.county", "reply_due": "2099-01-10"}).Must(t, 200).JSON
	waitDelivered(t, env, 20*time.Second)
	before := len(rcv.payloads())

	rcv.down() // the gateway goes away mid-case
	c = env.Act(t, tok, id, version(c), "reply", map[string]any{"outcome": "approved", "note": "同意"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "results", map[string]any{"items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": "92370323MA00000001"}}}).Must(t, 200).JSON
	verifyAll(t, env, c, id)
	sign(t, env, "n.town", id, false)
	// Deliveries fail while it is away, and are retried.
	deadline := time.Now().Add(15 * time.Second)
	for failing := 0; failing == 0; {
		if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM notifications WHERE status = 'pending' AND attempts > 0 AND last_error <> ''").Scan(&failing); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no failed attempt recorded while the receiver was down")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(rcv.payloads()); n != before {
		t.Fatalf("receiver got %d deliveries while down (had %d)", n, before)
	}
	rcv.up()
	waitDelivered(t, env, 30*time.Second)

	rows, err := env.App.Notify.OfCase(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	got := rcv.payloads()
	events := map[string]int{}
	for _, row := range rows {
		ps := got[fmt.Sprint(row.ID)]
		if row.Status != "delivered" || len(ps) != 1 {
			t.Errorf("notification %d (%s): status %s, received %d times", row.ID, row.Event, row.Status, len(ps))
			continue
		}
		p := ps[0]
		events[p.Event]++
		if p.Phone != person["phone"] || !strings.HasSuffix(p.TrackingURL, "/track/"+code) || !strings.Contains(p.Text, p.TrackingURL) {
			t.Errorf("payload %+v: wrong phone, link or text", p)
		}
		if n := notify.TextLen(p.Text); n >= notify.MaxText {
			t.Errorf("text of %s has %d characters: %s", p.Event, n, p.Text)
		}
	}
	if len(got) != len(rows) {
		t.Errorf("receiver handled %d deliveries, outbox has %d rows", len(got), len(rows))
	}
	for _, e := range []string{notify.Intake, notify.MaterialsNeeded, notify.Delegated, notify.Escalated, notify.Replied, notify.ResultsReady, notify.HandedOver} {
		if events[e] != 1 {
			t.Errorf("event %s delivered %d times, want once (all: %v)", e, events[e], events)
		}
	}
	t.Logf("%d texts delivered once each across the outage (%d POSTs reached the receiver): %v", len(rows), rcv.posts, events)
	if strings.Contains(env.Logs.String(), person["phone"]) {
		t.Error("the log holds the applicant's phone")
	}
	// Every delivery to a partner is a ledger entry.
	var entries int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM ledger_entries WHERE type = 'partner.delivered'").Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != len(rows) {
		t.Errorf("%d partner.delivered ledger entries for %d deliveries", entries, len(rows))
	}
}

// verifyAll marks every handover item verified, as the agent does before
// the applicant signs the receipt.
func verifyAll(t *testing.T, env *apptest.Env, c map[string]any, id int64) {
	t.Helper()
	verified := map[int64]bool{}
	for _, it := range c["handover_items"].([]any) {
		verified[int64(it.(map[string]any)["id"].(float64))] = true
	}
	err := pgx.BeginFunc(t.Context(), env.Pool, func(tx pgx.Tx) error {
		_, err := env.App.Cases.VerifyHandoverTx(t.Context(), tx, cases.Actor{Username: "n.town"}, id, verified)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOptOutAndDeadLetter: an applicant who opts out at intake gets no
// text; a delivery that runs out of attempts is a dead letter the
// administrator sees and sends again.
func TestOptOutAndDeadLetter(t *testing.T) {
	t.Parallel()
	cfg := fastRetries
	cfg.MaxAttempts = 2
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Notify: cfg})
	env.User(t, "d.town", "township_agent", "370323001")
	env.User(t, "d.admin", "admin", "370323")
	tok, atok := env.Token(t, "d.town"), env.Token(t, "d.admin")
	rcv := newReceiver(t)
	r := env.Do(t, atok, http.MethodPost, "/api/v1/partners", map[string]any{"name": "微信模板消息", "kind": "platform", "webhook": rcv.URL()}, nil).Must(t, 201)
	rcv.rc.Key = []byte(r.JSON["key"].(string))
	env.Do(t, atok, http.MethodPost, "/api/v1/partners", map[string]any{"name": "坏的", "kind": "fax", "webhook": rcv.URL()}, nil).Must(t, 422)

	quiet := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001", "channel": "counter", "matter": "YJS001", "applicant": apptest.Person(t, 6), "summary": "不要短信", "notify": false}, nil).Must(t, 201)
	rcv.down()
	loud := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001", "channel": "counter", "matter": "YJS001", "applicant": apptest.Person(t, 7), "summary": "要短信"}, nil).Must(t, 201)
	if rows, _ := env.App.Notify.OfCase(t.Context(), int64(quiet.JSON["id"].(float64))); len(rows) != 0 {
		t.Errorf("opted-out applicant has notifications: %+v", rows)
	}
	// The intake form's checkbox says the same.
	p := apptest.Person(t, 8)
	v := url.Values{"region": {"370323001"}, "channel": {"counter"}, "matter": {"YJS001"}, "kind": {"person"}, "name": {p["name"]},
		"id_number": {p["id_number"]}, "phone": {p["phone"]}, "summary": {"窗口登记，不要短信"}, "no_sms": {"1"}}
	env.Do(t, tok, http.MethodPost, "/intake", v.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if n := rowCount(t, env, "SELECT count(*) FROM notification_optouts o JOIN cases c ON c.id = o.case_id WHERE c.summary = '窗口登记，不要短信'"); n != 1 {
		t.Errorf("the intake form's opt-out: %d rows", n)
	}
	var dead []any
	for deadline := time.Now().Add(20 * time.Second); len(dead) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter after two failed attempts")
		}
		dead, _ = env.Do(t, atok, http.MethodGet, "/api/v1/notifications/dead", nil, nil).Must(t, 200).JSON["items"].([]any)
	}
	d := dead[0].(map[string]any)
	if d["event"] != notify.Intake || d["attempts"].(float64) != 2 || d["last_error"] == "" {
		t.Fatalf("dead letter %v", d)
	}
	list := env.Do(t, atok, http.MethodGet, "/api/v1/partners", nil, nil).Must(t, 200).JSON["items"].([]any)
	if p := list[0].(map[string]any); p["dead"].(float64) != 1 || p["failures"].(float64) != 2 {
		t.Errorf("partner figures %v", p)
	}
	// The administrator's page shows the dead letter with its resend
	// button; a partner added there shows its key once.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	page := env.Do(t, atok, http.MethodGet, "/partners", nil, nil).Must(t, 200)
	if !strings.Contains(string(page.Body), fmt.Sprintf(`action="/notifications/%d/resend"`, int64(d["id"].(float64)))) || !strings.Contains(string(page.Body), "微信模板消息") {
		t.Fatalf("partners page lacks the dead letter or the partner:\n%s", page.Body)
	}
	added := env.Do(t, atok, http.MethodPost, "/partners", "name=%E7%9C%81%E7%9F%AD%E4%BF%A1&kind=sms&webhook=", form).Must(t, 201)
	key := regexp.MustCompile(`dbk_[0-9a-f]{8}_[0-9a-f]{64}`).FindString(string(added.Body))
	if key == "" {
		t.Fatalf("the new key is not shown:\n%s", added.Body)
	}
	if again := env.Do(t, atok, http.MethodGet, "/partners", nil, nil).Must(t, 200); strings.Contains(string(again.Body), key) {
		t.Fatal("the key is shown a second time")
	}
	env.Do(t, atok, http.MethodPost, "/partners/%E7%9C%81%E7%9F%AD%E4%BF%A1/revoke", "", form).Must(t, 200) // after the redirect
	if list := env.Do(t, atok, http.MethodGet, "/api/v1/partners", nil, nil).Must(t, 200).JSON["items"].([]any); list[len(list)-1].(map[string]any)["revoked_at"] == nil {
		t.Fatalf("revoked from the page, still in use: %v", list)
	}
	rcv.up()
	env.Do(t, atok, http.MethodPost, fmt.Sprintf("/api/v1/notifications/%d/resend", int64(d["id"].(float64))), nil, nil).Must(t, 204)
	waitDelivered(t, env, 20*time.Second)
	rows, _ := env.App.Notify.OfCase(t.Context(), int64(loud.JSON["id"].(float64)))
	if len(rows) != 1 || rows[0].Status != "delivered" || len(rcv.payloads()[fmt.Sprint(rows[0].ID)]) != 1 {
		t.Fatalf("after resend: %+v, received %v", rows, rcv.payloads())
	}
	env.Do(t, atok, http.MethodPost, fmt.Sprintf("/api/v1/notifications/%d/resend", rows[0].ID), nil, nil).Must(t, 409)
	var ok bool
	if err := env.Pool.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM ledger_entries WHERE type = 'notification.resent')").Scan(&ok); err != nil || !ok {
		t.Errorf("resend not in the ledger (%v)", err)
	}
}
