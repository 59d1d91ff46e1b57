package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

var htmlAccept = map[string]string{"Accept": "text/html,application/xhtml+xml"}

// signIn signs username in on the pages and returns its browser.
func deskSignIn(t *testing.T, env *apptest.Env, username string) *http.Client {
	t.Helper()
	c := client(t)
	a := signIn(t, c, env.Server.URL, url.Values{"username": {username}, "password": {apptest.Password}}, htmlAccept)
	if a.status != http.StatusSeeOther {
		t.Fatalf("sign-in %s: %d", username, a.status)
	}
	return c
}

var (
	queueSection = regexp.MustCompile(`(?s)<section class="card queue" id="q-([a-z-]+)">(.*?)</section>`)
	queueCount   = regexp.MustCompile(`id="count-([a-z-]+)"><b>(\d+)</b>`)
	caseLink     = regexp.MustCompile(`href="/cases/(\d+)"`)
)

// deskView is what the desk page shows: each queue's cases in order, and
// the count shown for it.
type deskView struct {
	body   string
	queues map[string][]int64
	counts map[string]int
}

// where lists the queues a case is in, once per appearance.
func (d deskView) where(id int64) []string {
	var in []string
	for q, ids := range d.queues {
		for _, x := range ids {
			if x == id {
				in = append(in, q)
			}
		}
	}
	return in
}

func openDesk(t *testing.T, c *http.Client, env *apptest.Env, query string, status int) deskView {
	t.Helper()
	a := send(t, c, http.MethodGet, env.Server.URL+"/desk"+query, nil, htmlAccept)
	if a.status != status {
		t.Fatalf("/desk%s: %d, want %d", query, a.status, status)
	}
	d := deskView{body: a.body, queues: map[string][]int64{}, counts: map[string]int{}}
	for _, m := range queueSection.FindAllStringSubmatch(a.body, -1) {
		d.queues[m[1]] = []int64{}
		for _, l := range caseLink.FindAllStringSubmatch(m[2], -1) {
			id, _ := strconv.ParseInt(l[1], 10, 64)
			d.queues[m[1]] = append(d.queues[m[1]], id)
		}
	}
	for _, m := range queueCount.FindAllStringSubmatch(a.body, -1) {
		d.counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(d.queues) != len(cases.Queues) || len(d.counts) != len(cases.Queues) {
		t.Fatalf("/desk%s shows %d queues and %d counts, want %d", query, len(d.queues), len(d.counts), len(cases.Queues))
	}
	for q, ids := range d.queues {
		if d.counts[q] != len(ids) {
			t.Errorf("/desk%s: queue %s counts %d but lists %d", query, q, d.counts[q], len(ids))
		}
	}
	return d
}

// deskCases opens, as user in region, one case in every open state (the
// two deadline queues get a running case each, overdue and due soon) and
// returns each case's id with the queue it belongs in.
func deskCases(t *testing.T, env *apptest.Env, user, region string) map[int64]string {
	t.Helper()
	tok := env.Token(t, user)
	act := func(id int64, action string, body any) {
		t.Helper()
		env.Act(t, tok, id, env.Version(t, id), action, body).Must(t, http.StatusOK)
	}
	materials := func(id int64, all bool) []map[string]any {
		c := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, http.StatusOK).JSON
		var out []map[string]any
		for i, m := range c["materials"].([]any) {
			mm := m.(map[string]any)
			got := all || i > 0
			out = append(out, map[string]any{"code": mm["code"], "received": got, "original": got && mm["required_original"] == true, "pages": map[bool]int{true: 1}[got]})
		}
		return out
	}
	setDue := func(id int64, due string) {
		t.Helper()
		if _, err := env.Pool.Exec(context.Background(), "UPDATE cases SET due_date = $2 WHERE id = $1", id, due); err != nil {
			t.Fatal(err)
		}
	}
	want := map[int64]string{}
	id, _ := env.CreateCase(t, tok, region, "YP001")
	want[id] = "new" // consultation
	id, _ = env.CreateCase(t, tok, region, "YP001")
	act(id, "review", map[string]any{"result": "supplement", "materials": materials(id, false), "note": "请补交身份证"})
	want[id] = "new" // awaiting_materials
	id, _ = env.CreateCase(t, tok, region, "YP001")
	act(id, "review", map[string]any{"result": "accept", "materials": materials(id, true)})
	want[id] = "new" // agreement_pending
	id, _ = env.CreateCase(t, tok, region, "YP001")
	act(id, "accompany", map[string]any{"note": "陪同申请人到窗口"})
	want[id] = "active" // accompanying
	id = env.Delegate(t, user, region, "YP001")
	setDue(id, "2026-05-06")
	want[id] = "active" // delegated, not yet due
	id = env.Delegate(t, user, region, "YP001")
	act(id, "progress", map[string]any{"note": "已送审批局"})
	setDue(id, "2026-04-01")
	want[id] = "active" // processing, not yet due
	id = env.Delegate(t, user, region, "YP001")
	act(id, "progress", map[string]any{"note": "已送审批局"})
	act(id, "escalate", map[string]any{"level": "city", "authority": "淄博市行政审批服务局", "tracker": user, "reply_due": "2026-04-30"})
	want[id] = "escalated"
	id = env.Delegate(t, user, region, "YP001")
	act(id, "suspend", map[string]any{"reason": "申请人要求暂缓"})
	want[id] = "suspended"
	id = env.Delegate(t, user, region, "YP001")
	act(id, "progress", map[string]any{"note": "已送审批局"})
	act(id, "results", map[string]any{"items": []map[string]any{{"kind": "licence", "name": "药品经营许可证", "number": "鲁AA5330001"}}})
	want[id] = "ready"
	id = env.Delegate(t, user, region, "YP001")
	act(id, "progress", map[string]any{"note": "已送审批局"})
	setDue(id, "2026-03-02")
	want[id] = cases.QueueOverdue
	id = env.Delegate(t, user, region, "YP001")
	setDue(id, "2026-03-11")
	want[id] = cases.QueueDueSoon
	return want
}

// TestDeskListsEveryOpenCaseOnce: one case in every open state is in
// exactly one queue of the desk, under 我负责的 and 本辖区全部 alike; the
// counts are the lists' lengths; the filters and the sort work; a case of
// another township never shows; closed cases are on no list.
func TestDeskListsEveryOpenCaseOnce(t *testing.T) {
	t.Parallel()
	clock := apptest.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))) // a Tuesday
	env := apptest.NewShared(t, apptest.NewDatabase(t), apptest.Options{Now: clock.Now})
	env.User(t, "w.town", "township_agent", "370323001")
	env.User(t, "w.mate", "township_agent", "370323001")
	env.User(t, "w.other", "township_agent", "370323101")
	env.User(t, "w.county", "county_agent", "370323")

	mine := deskCases(t, env, "w.town", "370323001")
	mateCase, _ := env.CreateCase(t, env.Token(t, "w.mate"), "370323001", "CL001")
	otherCase, _ := env.CreateCase(t, env.Token(t, "w.other"), "370323101", "YP001")
	closed, _ := env.CreateCase(t, env.Token(t, "w.town"), "370323001", "YP001")
	env.Act(t, env.Token(t, "w.town"), closed, env.Version(t, closed), "guide", map[string]any{"note": "当场指导"}).Must(t, http.StatusOK)
	town := deskSignIn(t, env, "w.town")

	t.Run("mine", func(t *testing.T) {
		d := openDesk(t, town, env, "", http.StatusOK)
		for id, q := range mine {
			if in := d.where(id); len(in) != 1 || in[0] != q {
				t.Errorf("case %d is in %v, want only %s", id, in, q)
			}
		}
		for _, id := range []int64{mateCase, otherCase, closed} {
			if in := d.where(id); len(in) != 0 {
				t.Errorf("case %d of someone else or closed is in %v", id, in)
			}
		}
	})
	t.Run("whole region", func(t *testing.T) {
		d := openDesk(t, town, env, "?all=1", http.StatusOK)
		for id, q := range mine {
			if in := d.where(id); len(in) != 1 || in[0] != q {
				t.Errorf("case %d is in %v, want only %s", id, in, q)
			}
		}
		if in := d.where(mateCase); len(in) != 1 || in[0] != "new" {
			t.Errorf("a colleague's new case is in %v", in)
		}
		if in := append(d.where(otherCase), d.where(closed)...); len(in) != 0 {
			t.Errorf("another township's or a closed case is in %v", in)
		}
	})
	t.Run("sort by due date", func(t *testing.T) {
		// 在办: processing due 04-01, delegated due 05-06, accompanying
		// without a due date last either way.
		asc := openDesk(t, town, env, "?sort=due", http.StatusOK).queues["active"]
		desc := openDesk(t, town, env, "?sort=-due", http.StatusOK).queues["active"]
		if len(asc) != 3 || len(desc) != 3 || asc[0] != desc[1] || asc[1] != desc[0] || asc[2] != desc[2] {
			t.Fatalf("active queue ascending %v, descending %v", asc, desc)
		}
		var due []*time.Time
		for _, id := range asc {
			var d *time.Time
			if err := env.Pool.QueryRow(context.Background(), "SELECT due_date FROM cases WHERE id = $1", id).Scan(&d); err != nil {
				t.Fatal(err)
			}
			due = append(due, d)
		}
		if due[0] == nil || due[1] == nil || due[2] != nil || !due[0].Before(*due[1]) {
			t.Errorf("ascending order %v (due %v): the earlier due date first, no due date last", asc, due)
		}
	})
	t.Run("filters", func(t *testing.T) {
		d := openDesk(t, town, env, "?all=1&handler=w.mate", http.StatusOK)
		if total(d) != 1 || len(d.where(mateCase)) != 1 {
			t.Errorf("handler filter: %v", d.queues)
		}
		d = openDesk(t, town, env, "?all=1&matter=CL001", http.StatusOK)
		if total(d) != 1 || len(d.where(mateCase)) != 1 {
			t.Errorf("matter filter: %v", d.queues)
		}
		county := deskSignIn(t, env, "w.county")
		d = openDesk(t, county, env, "?all=1&township=370323101", http.StatusOK)
		if total(d) != 1 || len(d.where(otherCase)) != 1 {
			t.Errorf("township filter: %v", d.queues)
		}
		if d = openDesk(t, county, env, "?all=1&township=370323001", http.StatusOK); total(d) != len(mine)+1 || len(d.where(otherCase)) != 0 {
			t.Errorf("township filter 370323001 lists %d cases", total(d))
		}
	})
	t.Run("refused filters", func(t *testing.T) {
		for q, msg := range map[string]string{
			"?all=1&township=370323101":                 "所选乡镇不在您的辖区内",
			"?all=1&township=370323":                    "所选乡镇不在您的辖区内",
			"?all=1&handler=" + strings.Repeat("张", 65): "经办人过长",
			"?sort=random":                              "排序方式无效",
		} {
			d := openDesk(t, town, env, q, http.StatusUnprocessableEntity)
			if !strings.Contains(d.body, msg) {
				t.Errorf("%s: no message %q", q, msg)
			}
			if len(d.where(otherCase)) != 0 {
				t.Errorf("%s: another township's case shown", q)
			}
		}
	})
	t.Run("unreadable filter text", func(t *testing.T) {
		// Bytes that are not UTF-8 are refused before the desk is read, by
		// the server's check of every query value, with a page saying so.
		a := send(t, town, http.MethodGet, env.Server.URL+"/desk?all=1&matter=%FF%FE", nil, htmlAccept)
		if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "无法识别的字符") {
			t.Errorf("/desk?matter=%%FF%%FE: %d", a.status)
		}
	})
	t.Run("a long queue says how many it holds", func(t *testing.T) {
		lists, err := env.App.Cases.Queues(context.Background(), cases.QueueFilter{Scope: "370323001", Username: "w.town", Mine: true, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lists {
			if l.Key == "new" && (l.Total != 3 || len(l.Items) != 1) {
				t.Errorf("new cases cut at 1: %d listed of %d", len(l.Items), l.Total)
			}
		}
	})
}

func total(d deskView) int {
	n := 0
	for _, ids := range d.queues {
		n += len(ids)
	}
	return n
}

// TestNoticesInbox: a 督办 note reaches the case's handler in the inbox,
// the navigation counts it until it is read, reading needs the form's
// token, and another user's notice cannot be touched.
func TestNoticesInbox(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "n.town", "township_agent", "370323001")
	env.User(t, "n.mate", "township_agent", "370323001")
	env.User(t, "n.super", "supervisor", "370323001")
	id, _ := env.CreateCase(t, env.Token(t, "n.town"), "370323001", "YP001")
	sup := env.Token(t, "n.super")
	env.Act(t, sup, id, env.Version(t, id), "supervise", map[string]any{"note": "请今天内联系申请人"}).Must(t, http.StatusOK)

	c := deskSignIn(t, env, "n.town")
	inbox := send(t, c, http.MethodGet, env.Server.URL+"/notices", nil, htmlAccept)
	if inbox.status != http.StatusOK || !strings.Contains(inbox.body, "请今天内联系申请人") || !strings.Contains(inbox.body, "督办意见") ||
		!strings.Contains(inbox.body, fmt.Sprintf(`href="/cases/%d"`, id)) {
		t.Fatalf("inbox: %d %s", inbox.status, inbox.body)
	}
	if badge := between(inbox.body, `id="unread-count" aria-label="未读 1 条">`, "<"); badge != "1" {
		t.Fatalf("unread badge %q", badge)
	}
	nid := between(inbox.body, `id="notice-`, `"`)
	token := between(inbox.body, `name="csrf_token" value="`, `"`)
	if a := send(t, c, http.MethodPost, env.Server.URL+"/notices/"+nid+"/read", url.Values{}, htmlAccept); a.status != http.StatusForbidden {
		t.Fatalf("marking read without the form's token: %d", a.status)
	}
	mate := deskSignIn(t, env, "n.mate")
	mateDesk := send(t, mate, http.MethodGet, env.Server.URL+"/desk", nil, htmlAccept)
	mateToken := between(mateDesk.body, `name="csrf_token" value="`, `"`)
	if strings.Contains(mateDesk.body, `id="unread-count"`) {
		t.Error("a colleague sees an unread badge for someone else's notice")
	}
	if a := send(t, mate, http.MethodPost, env.Server.URL+"/notices/"+nid+"/read", url.Values{"csrf_token": {mateToken}}, htmlAccept); a.status != http.StatusNotFound {
		t.Fatalf("marking someone else's notice read: %d", a.status)
	}
	if a := send(t, c, http.MethodPost, env.Server.URL+"/notices/"+nid+"/read", url.Values{"csrf_token": {token}}, htmlAccept); a.status != http.StatusSeeOther || a.location != "/notices" {
		t.Fatalf("marking read: %d → %q", a.status, a.location)
	}
	desk := send(t, c, http.MethodGet, env.Server.URL+"/desk", nil, htmlAccept)
	if strings.Contains(desk.body, `id="unread-count"`) || !strings.Contains(desk.body, `href="/notices"`) {
		t.Fatal("the unread badge stays after reading, or the inbox is not in the navigation")
	}

	env.Act(t, sup, id, env.Version(t, id), "supervise", map[string]any{"note": "第二次督办"}).Must(t, http.StatusOK)
	env.Act(t, sup, id, env.Version(t, id), "supervise", map[string]any{"note": "第三次督办"}).Must(t, http.StatusOK)
	inbox = send(t, c, http.MethodGet, env.Server.URL+"/notices", nil, htmlAccept)
	if badge := between(inbox.body, `id="unread-count" aria-label="未读 2 条">`, "<"); badge != "2" || strings.Index(inbox.body, "第三次督办") > strings.Index(inbox.body, "第二次督办") {
		t.Fatalf("two new notes: badge %q, newest first?", badge)
	}
	if a := send(t, c, http.MethodPost, env.Server.URL+"/notices/read", url.Values{"csrf_token": {token}}, htmlAccept); a.status != http.StatusSeeOther {
		t.Fatalf("marking all read: %d", a.status)
	}
	inbox = send(t, c, http.MethodGet, env.Server.URL+"/notices", nil, htmlAccept)
	if strings.Contains(inbox.body, `id="unread-count"`) || !strings.Contains(inbox.body, "没有未读通知") || !strings.Contains(inbox.body, "已将 2 条通知标为已读") {
		t.Fatalf("after marking all read: %s", inbox.body)
	}
	if a := send(t, c, http.MethodGet, env.Server.URL+"/notices?before=abc", nil, htmlAccept); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "页码无效") {
		t.Fatalf("a bad page: %d", a.status)
	}
}
