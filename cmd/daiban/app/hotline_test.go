package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/partners/webhook"
)

// hotlinePost sends a work order as the 12345 platform does: the partner
// key as bearer, the body signed at `at`.
func hotlinePost(t *testing.T, env *apptest.Env, key string, order any, at time.Time) apptest.Response {
	t.Helper()
	body, err := json.Marshal(order)
	if err != nil {
		t.Fatal(err)
	}
	ts := at.Unix()
	return env.Do(t, "", http.MethodPost, "/api/v1/hotline/orders", body, map[string]string{"Authorization": "Bearer " + key,
		webhook.TimestampHeader: fmt.Sprint(ts), webhook.SignatureHeader: webhook.Sign([]byte(key), ts, body)})
}

func rowCount(t *testing.T, env *apptest.Env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := env.Pool.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHotlineOrders posts 12345 work orders as the platform would: a
// request opens one case however often it is delivered, bad orders are
// refused naming the field with nothing written, a complaint opens a
// rectification and tells the township's supervisors, and the results
// go back to the platform's webhook.
func TestHotlineOrders(t *testing.T) {
	t.Parallel()
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Notify: fastRetries})
	env.User(t, "h.town", "township_agent", "370323001")
	env.User(t, "h.super", "supervisor", "370323001")
	rcv := newReceiver(t)
	_, key, err := env.App.Partners.Add(t.Context(), "admin", "县 12345 热线", partners.Hotline, rcv.URL())
	if err != nil {
		t.Fatal(err)
	}
	rcv.rc.Key = []byte(key)
	due := time.Now().AddDate(0, 0, 5).Format("2006-01-02")
	order := map[string]any{"order_no": "GD20261206001", "kind": "request", "region": "370323001", "matter": "YJS001",
		"applicant": map[string]string{"name": "王小明", "phone": "13800001111"}, "content": "想开餐馆，不知道要办哪些证", "reply_due": due}
	now := time.Now()

	t.Run("one case however often delivered", func(t *testing.T) {
		first := hotlinePost(t, env, key, order, now)
		if first.Status != 201 {
			t.Fatalf("%s\n%s", first.Body, env.Logs.String()[max(0, env.Logs.Len()-2000):])
		}
		again := hotlinePost(t, env, key, order, now.Add(time.Second)).Must(t, 201)
		if !bytes.Equal(first.Body, again.Body) || first.JSON["case_id"] == nil {
			t.Fatalf("first %s, again %s", first.Body, again.Body)
		}
		id := int64(first.JSON["case_id"].(float64))
		if n := rowCount(t, env, "SELECT count(*) FROM cases WHERE channel = 'hotline' AND summary LIKE '%GD20261206001%'"); n != 1 {
			t.Fatalf("%d hotline cases after two deliveries", n)
		}
		c := caseJSON(t, env, env.Token(t, "h.town"), id)
		if c["state"] != "consultation" || c["region"] != "370323001" || !strings.Contains(c["summary"].(string), "GD20261206001") {
			t.Fatalf("case %v", c)
		}
	})
	t.Run("a request naming no matter", func(t *testing.T) {
		o := map[string]any{"order_no": "GD-NOMATTER", "kind": "request", "region": "370323001",
			"applicant": map[string]string{"name": "李四", "phone": "0533-3241234"}, "content": "咨询老年证办理", "reply_due": due}
		id := int64(hotlinePost(t, env, key, o, now).Must(t, 201).JSON["case_id"].(float64))
		c := caseJSON(t, env, env.Token(t, "h.town"), id)
		if c["title"] != "12345 热线诉求" || c["channel"] != "hotline" {
			t.Fatalf("case %v", c)
		}
		// Nothing to delegate until a matter is known; guidance works.
		r := env.Act(t, env.Token(t, "h.town"), id, version(c), "review", map[string]any{"result": "accept", "materials": []any{}})
		if r.Status != 422 || !strings.Contains(string(r.Body), "尚未确定办理事项") {
			t.Fatalf("accepting a case without a matter: %d %s", r.Status, r.Body)
		}
		env.Act(t, env.Token(t, "h.town"), id, version(c), "guide", map[string]any{"note": "已告知老年证办理地点"}).Must(t, 200)
	})
	t.Run("bad orders name the field, write nothing", func(t *testing.T) {
		before := rowCount(t, env, "SELECT count(*) FROM cases") + rowCount(t, env, "SELECT count(*) FROM hotline_orders")
		for field, change := range map[string]func(o map[string]any){
			"kind":            func(o map[string]any) { o["kind"] = "praise" },
			"reply_due":       func(o map[string]any) { o["reply_due"] = "下周" },
			"applicant.phone": func(o map[string]any) { o["applicant"] = map[string]string{"name": "王小明", "phone": "12"} },
			"region":          func(o map[string]any) { o["region"] = "999999999" },
			"matter":          func(o map[string]any) { o["matter"] = "NO_SUCH" },
			"case_ref":        func(o map[string]any) { o["kind"] = "complaint" },
			"order_no":        func(o map[string]any) { o["order_no"] = "工单 1" },
			"colour":          func(o map[string]any) { o["colour"] = "red" },
		} {
			o := map[string]any{}
			for k, v := range order {
				o[k] = v
			}
			o["order_no"] = "BAD-" + strings.ReplaceAll(field, ".", "-")
			change(o)
			r := hotlinePost(t, env, key, o, now)
			if r.Status != 422 || r.JSON["error"].(map[string]any)["field"] != field {
				t.Errorf("%s: %d %s", field, r.Status, r.Body)
			}
		}
		if after := rowCount(t, env, "SELECT count(*) FROM cases") + rowCount(t, env, "SELECT count(*) FROM hotline_orders"); after != before {
			t.Errorf("bad orders wrote %d rows", after-before)
		}
	})
	t.Run("key and signature", func(t *testing.T) {
		o := map[string]any{}
		for k, v := range order {
			o[k] = v
		}
		o["order_no"] = "GD-AUTH"
		if r := hotlinePost(t, env, key, o, now.Add(-6*time.Minute)); r.Status != 401 {
			t.Errorf("six-minute-old signature: %d %s", r.Status, r.Body)
		}
		if r := hotlinePost(t, env, key[:len(key)-1]+"0", o, now); r.Status != 401 {
			t.Errorf("wrong key: %d %s", r.Status, r.Body)
		}
		body, _ := json.Marshal(o)
		req, _ := http.NewRequest(http.MethodPost, env.Server.URL+"/api/v1/hotline/orders", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		webhook.SignRequest(req, []byte(key), []byte(`{}`), now)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("body not the one signed: %v %v", resp.StatusCode, err)
		}
		_, smsKey, err := env.App.Partners.Add(t.Context(), "admin", "短信", partners.SMS, "")
		if err != nil {
			t.Fatal(err)
		}
		if r := hotlinePost(t, env, smsKey, o, now); r.Status != 403 {
			t.Errorf("an SMS partner posts an order: %d %s", r.Status, r.Body)
		}
	})
	var caseID int64
	t.Run("complaint opens a rectification", func(t *testing.T) {
		caseID = int64(hotlinePost(t, env, key, order, now).Must(t, 201).JSON["case_id"].(float64))
		code := caseJSON(t, env, env.Token(t, "h.town"), caseID)["tracking_code"].(string)
		complaint := map[string]any{"order_no": "GD20261206002", "kind": "complaint", "region": "370323001", "case_ref": strings.ToLower(code),
			"applicant": map[string]string{"name": "王小明", "phone": "13800001111"}, "content": "工作人员推诿", "reply_due": due}
		r := hotlinePost(t, env, key, complaint, now)
		if r.Status != 201 {
			t.Fatalf("%s\n%s", r.Body, env.Logs.String()[max(0, env.Logs.Len()-2000):])
		}
		if r.JSON["rectification_id"] == nil || r.JSON["case_id"] != nil {
			t.Fatalf("complaint answer %s", r.Body)
		}
		c := caseJSON(t, env, env.Token(t, "h.town"), caseID)
		rect := c["rectification"].(map[string]any)
		if rect["source"] != "hotline" || rect["status"] != "open" || rect["due_date"] != due {
			t.Fatalf("rectification %v", rect)
		}
		ns := env.Do(t, env.Token(t, "h.super"), http.MethodGet, "/api/v1/notices", nil, nil).Must(t, 200)
		if !strings.Contains(string(ns.Body), "GD20261206002") {
			t.Fatalf("the supervisor was not told: %s", ns.Body)
		}
		env.Do(t, env.Token(t, "h.town"), http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/rectification", caseID), map[string]any{"result": "已约谈窗口人员并当面致歉"}, nil).Must(t, 200)
	})
	t.Run("results go back to 12345", func(t *testing.T) {
		tok := env.Token(t, "h.town")
		c := caseJSON(t, env, tok, caseID)
		env.Act(t, tok, caseID, version(c), "guide", map[string]any{"note": "已告知办理流程，申请人自行办理"}).Must(t, 200)
		waitDelivered(t, env, 20*time.Second)
		replies := map[string]string{}
		for _, ps := range rcv.payloads() {
			for _, p := range ps {
				if p.OrderNo != "" {
					replies[p.OrderNo] = p.Text
				}
				if p.Phone != "" {
					t.Errorf("a hotline reply carries the phone: %+v", p)
				}
			}
		}
		if !strings.Contains(replies["GD20261206002"], "已约谈窗口人员") || !strings.Contains(replies["GD20261206001"], "已告知办理流程") {
			t.Fatalf("replies to 12345: %v", replies)
		}
		// The return visit (回访): the applicant's rating goes back too.
		c = caseJSON(t, env, tok, caseID)
		env.Act(t, tok, caseID, version(c), "evaluate", map[string]any{"rating": 4}).Must(t, 200)
		waitDelivered(t, env, 20*time.Second)
		visits := 0
		for _, ps := range rcv.payloads() {
			for _, p := range ps {
				if p.Event == "hotline_visit" && p.OrderNo == "GD20261206001" && p.Rating == 4 {
					visits++
				}
			}
		}
		if visits != 1 {
			t.Fatalf("%d return-visit replies for the order", visits)
		}
	})
	for _, typ := range []string{"partner.order", "partner.order_repeated", "partner.order_refused", "partner.delivered"} {
		if rowCount(t, env, "SELECT count(*) FROM ledger_entries WHERE type = $1", typ) == 0 {
			t.Errorf("no %s ledger entry", typ)
		}
	}
}
