package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// caseJSON fetches a case as token.
func caseJSON(t *testing.T, env *apptest.Env, token string, id int64) map[string]any {
	t.Helper()
	return env.Do(t, token, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil).Must(t, 200).JSON
}

func version(c map[string]any) int { return int(c["version"].(float64)) }

// allMaterials marks every required material of a case received in the
// required form.
func allMaterials(c map[string]any) []map[string]any {
	var out []map[string]any
	for _, m := range c["materials"].([]any) {
		mm := m.(map[string]any)
		out = append(out, map[string]any{"code": mm["code"], "received": true, "original": mm["required_original"], "pages": 2})
	}
	return out
}

// sign drives the document events the documents package triggers.
func sign(t *testing.T, env *apptest.Env, user string, id int64, agreement bool) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
		a := cases.Actor{Username: user}
		var err error
		if agreement {
			_, err = env.App.Cases.SignedAgreementTx(ctx, tx, a, id, nil)
		} else {
			_, err = env.App.Cases.HandedOverTx(ctx, tx, a, id, nil)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDelegatedCaseEndToEnd walks one delegated case from the counter to
// the handover and the rating, through every kind of step.
func TestDelegatedCaseEndToEnd(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "e.town", "township_agent", "370323001")
	env.User(t, "e.county", "county_agent", "370323")
	env.User(t, "e.super", "supervisor", "370323001")
	env.User(t, "e.village", "village_agent", "370323001001")
	tok := env.Token(t, "e.town")

	// A chain (一件事) collects each shared material once.
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001001", "channel": "village", "matter": "YJS001", "applicant": apptest.Person(t, 3), "summary": "开餐馆",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	number := r.JSON["number"].(string)
	if !strings.HasPrefix(number, "370323001001-") || r.JSON["state"] != "consultation" || r.JSON["tracking_code"] == "" {
		t.Fatalf("create: %s", r.Body)
	}
	c := caseJSON(t, env, tok, id)
	codes := map[string]int{}
	for _, m := range c["materials"].([]any) {
		codes[m.(map[string]any)["code"].(string)]++
	}
	if codes["ID_CARD"] != 1 {
		t.Fatalf("shared material collected %d times: %v", codes["ID_CARD"], codes)
	}

	// Review: first incomplete → supplement names what is missing.
	mats := allMaterials(c)
	partial := append([]map[string]any{}, mats...)
	partial[0] = map[string]any{"code": mats[0]["code"], "received": false, "original": false, "pages": 0}
	r = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": partial})
	if r.Status != 422 {
		t.Fatalf("accept with missing material: %d %s", r.Status, r.Body)
	}
	r = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "supplement", "materials": partial}).Must(t, 422) // note required
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "supplement", "materials": partial, "note": "请补交"}).Must(t, 200).JSON
	if c["state"] != "awaiting_materials" {
		t.Fatalf("state %v", c["state"])
	}
	c = env.Act(t, tok, id, version(c), "supply", map[string]any{"materials": mats[:1]}).Must(t, 200).JSON
	if c["state"] != "consultation" {
		t.Fatalf("supply returns to %v", c["state"])
	}
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": mats}).Must(t, 200).JSON
	if c["state"] != "agreement_pending" || c["mode"] != "delegate" {
		t.Fatalf("accept: %v %v", c["state"], c["mode"])
	}
	c = env.Act(t, tok, id, version(c), "assign", map[string]any{"agent": "e.village"}).Must(t, 200).JSON
	sign(t, env, "e.town", id, true)
	c = caseJSON(t, env, tok, id)
	if c["state"] != "delegated" || c["due_date"] == nil {
		t.Fatalf("after agreement: %v due %v", c["state"], c["due_date"])
	}
	// The village agent, now the handler, carries the ID card to the township.
	vtok := env.Token(t, "e.village")
	c = env.Do(t, vtok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id), map[string]any{"material": "ID_CARD", "from": "applicant", "to": "e.village", "count": 1}, nil).Must(t, 201).JSON
	r = env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id), map[string]any{"material": "ID_CARD", "from": "e.village", "to": "e.town", "count": 1}, nil)
	if r.Status != 403 {
		t.Fatalf("non-holder hands over: %d %s", r.Status, r.Body)
	}
	env.Do(t, vtok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id), map[string]any{"material": "ID_CARD", "from": "e.village", "to": "e.town", "count": 1}, nil).Must(t, 201)
	c = env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id), map[string]any{"material": "ID_CARD", "from": "e.town", "to": "department:县行政审批服务局", "count": 1}, nil).Must(t, 201).JSON
	c = env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/custody", id), map[string]any{"material": "ID_CARD", "from": "department:县行政审批服务局", "to": "e.town", "count": 1}, nil).Must(t, 201).JSON
	for _, m := range c["materials"].([]any) {
		if mm := m.(map[string]any); mm["code"] == "ID_CARD" && mm["holder"] != "e.town" {
			t.Fatalf("holder %v", mm["holder"])
		}
	}

	c = env.Act(t, vtok, id, version(c), "progress", map[string]any{"note": "材料已送达审批局", "step": "窗口受理", "notify_applicant": true}).Must(t, 200).JSON
	if c["state"] != "processing" {
		t.Fatalf("progress: %v", c["state"])
	}
	c = env.Act(t, tok, id, version(c), "escalate", map[string]any{"level": "city", "authority": "淄博市行政审批服务局", "tracker": "e.county", "reply_due": "2099-01-10"}).Must(t, 200).JSON
	if c["state"] != "escalated" || c["escalation"] == nil {
		t.Fatalf("escalate: %s", c)
	}
	c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "市局审查中"}).Must(t, 200).JSON
	if c["escalation"].(map[string]any)["authority"] != "淄博市行政审批服务局" {
		t.Fatalf("escalation lost after progress")
	}
	c = env.Act(t, tok, id, version(c), "suspend", map[string]any{"reason": "申请人要求暂缓"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "resume", map[string]any{"reason": "申请人要求续办"}).Must(t, 200).JSON
	if c["state"] != "escalated" {
		t.Fatalf("resume returns to %v", c["state"])
	}
	c = env.Act(t, tok, id, version(c), "reply", map[string]any{"outcome": "approved", "note": "同意"}).Must(t, 200).JSON
	if c["state"] != "processing" || c["escalation"] != nil {
		t.Fatalf("reply: %v %v", c["state"], c["escalation"])
	}
	c = env.Act(t, tok, id, version(c), "results", map[string]any{"items": []map[string]any{{"kind": "licence", "name": "营业执照", "number": "92370323MA00000001"}, {"kind": "licence", "name": "食品经营许可证", "number": "JY13703230000001"}}}).Must(t, 200).JSON
	items := c["handover_items"].([]any)
	if len(items) != 3 { // two licences and the ID card the center holds
		t.Fatalf("handover items %v", items)
	}
	verified := map[int64]bool{}
	for _, it := range items {
		verified[int64(it.(map[string]any)["id"].(float64))] = true
	}
	err := pgx.BeginFunc(t.Context(), env.Pool, func(tx pgx.Tx) error {
		_, err := env.App.Cases.VerifyHandoverTx(t.Context(), tx, cases.Actor{Username: "e.town"}, id, verified)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sign(t, env, "e.town", id, false)
	c = caseJSON(t, env, tok, id)
	if c["state"] != "closed" || c["outcome"] != "handed_over" {
		t.Fatalf("handover: %v %v", c["state"], c["outcome"])
	}
	for _, m := range c["materials"].([]any) {
		if mm := m.(map[string]any); mm["holder"] != "applicant" {
			t.Fatalf("material %v still held by %v after handover", mm["code"], mm["holder"])
		}
	}
	// The supervisor adds a 督办 note but cannot change state.
	stok := env.Token(t, "e.super")
	sc := caseJSON(t, env, stok, id)
	if strings.Contains(string(mustJSON(sc)), apptest.Person(t, 3)["id_number"]) {
		t.Fatal("supervisor sees the full ID number")
	}
	env.Act(t, stok, id, version(sc), "supervise", map[string]any{"note": "请做好回访"}).Must(t, 200)
	// One rating per case; 2 or less opens a rectification.
	c = caseJSON(t, env, tok, id)
	c = env.Act(t, tok, id, version(c), "evaluate", map[string]any{"rating": 2, "comment": "等待时间长"}).Must(t, 200).JSON
	if c["rectification"] == nil {
		t.Fatal("no rectification after a rating of 2")
	}
	r = env.Act(t, tok, id, version(c), "evaluate", map[string]any{"rating": 5})
	if r.Status != 409 || r.ErrorCode() != "invalid_transition" {
		t.Fatalf("second rating: %d %s", r.Status, r.Body)
	}
	// Public tracking shows progress and nothing personal.
	tr := env.Do(t, "", http.MethodGet, "/api/v1/track/"+c["tracking_code"].(string), nil, nil).Must(t, 200)
	p := apptest.Person(t, 3)
	for _, secret := range []string{p["id_number"], p["phone"], p["name"]} {
		if strings.Contains(string(tr.Body), secret) {
			t.Errorf("tracking page shows %q", secret)
		}
	}
	if !strings.Contains(string(tr.Body), "材料已送达审批局") || strings.Contains(string(tr.Body), "市局审查中") {
		t.Errorf("tracking shows the wrong notes: %s", tr.Body)
	}
	replayLedger(t, env, id)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// replayLedger checks that a case's ledger entries replay to its state:
// each entry's from is the state the previous one left, versions count up
// and the last state is the case's state.
func replayLedger(t testing.TB, env *apptest.Env, id int64) {
	t.Helper()
	entries, err := env.App.Ledger.CaseEntries(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	state, ver := "", 0
	for i, e := range entries {
		var p struct {
			State   string `json:"state"`
			From    string `json:"from"`
			To      string `json:"to"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Type == "case.created":
			state, ver = p.State, p.Version
		case p.Version != 0:
			if p.Version != ver+1 || (p.To != "" && p.From != state) {
				t.Fatalf("entry %d (%s): from %s v%d, replayed state %s v%d", i, e.Type, p.From, p.Version, state, ver)
			}
			ver = p.Version
			if p.To != "" {
				state = p.To
			}
		}
	}
	var dbState string
	var dbVersion int
	if err := env.Pool.QueryRow(t.Context(), "SELECT state, version FROM cases WHERE id = $1", id).Scan(&dbState, &dbVersion); err != nil {
		t.Fatal(err)
	}
	if state != dbState {
		t.Fatalf("ledger replays to %s, case is %s", state, dbState)
	}
	if ver != dbVersion {
		t.Fatalf("ledger replays to version %d, case is at %d", ver, dbVersion)
	}
}

func TestActionPreconditions(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.town", "township_agent", "370323001")
	env.User(t, "p.village", "village_agent", "370323001001")
	tok := env.Token(t, "p.town")
	id, v := env.CreateCase(t, tok, "370323001", "GT001")
	path := fmt.Sprintf("/api/v1/cases/%d/actions/accompany", id)
	if r := env.Do(t, tok, http.MethodPost, path, map[string]any{}, nil); r.Status != 428 || r.ErrorCode() != "precondition_required" {
		t.Fatalf("no If-Match: %d %s", r.Status, r.Body)
	}
	if r := env.Act(t, tok, id, v+1, "accompany", map[string]any{}); r.Status != 409 || r.ErrorCode() != "version_conflict" {
		t.Fatalf("stale: %d %s", r.Status, r.Body)
	}
	if r := env.Act(t, tok, id, v, "results", map[string]any{"items": []any{}}); r.Status != 409 || r.ErrorCode() != "invalid_transition" {
		t.Fatalf("wrong state: %d %s", r.Status, r.Body)
	}
	if r := env.Act(t, tok, id, v, "accompany", map[string]any{"nota": "x"}); r.Status != 422 {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}
	if r := env.Act(t, tok, id, v, "fly", map[string]any{}); r.Status != 422 {
		t.Fatalf("unknown action: %d %s", r.Status, r.Body)
	}
	// The ETag is the version.
	r := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, nil)
	if r.Header.Get("ETag") != fmt.Sprintf("%q", fmt.Sprint(v)) {
		t.Fatalf("ETag %q", r.Header.Get("ETag"))
	}
	c := env.Act(t, tok, id, v, "accompany", map[string]any{"note": "陪同办理"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "complete", map[string]any{}).Must(t, 200).JSON
	if c["state"] != "closed" || c["outcome"] != "accompanied" {
		t.Fatalf("complete: %v %v", c["state"], c["outcome"])
	}
	if r := env.Act(t, tok, id, version(c), "terminate", map[string]any{"reason": "x", "by": "center"}); r.ErrorCode() != "invalid_transition" {
		t.Fatalf("terminate closed case: %d %s", r.Status, r.Body)
	}
}

func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "i.village", "village_agent", "370323001001")
	tok := env.Token(t, "i.village")
	body := map[string]any{"region": "370323001001", "channel": "village", "matter": "RS001", "applicant": apptest.Person(t, 4)}
	key := map[string]string{"Idempotency-Key": "errand-42"}
	var wg sync.WaitGroup
	results := make([]apptest.Response, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = env.Do(t, tok, http.MethodPost, "/api/v1/cases", body, key)
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.Status != 201 || string(r.Body) != string(results[0].Body) {
			t.Fatalf("retry answered %d %s, first %s", r.Status, r.Body, results[0].Body)
		}
	}
	var n int
	if err := env.Pool.QueryRow(t.Context(), "SELECT count(*) FROM cases").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d cases after 8 retries", n)
	}
	body["summary"] = "另一个请求"
	if r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", body, key); r.Status != 422 {
		t.Fatalf("same key, other body: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentActionsOneWinner sends the same action with the same
// version from many clients: exactly one wins, the rest get
// version_conflict, and the ledger holds exactly one entry for it.
func TestConcurrentActionsOneWinner(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "k.town", "township_agent", "370323001")
	tok := env.Token(t, "k.town")
	id, v := env.CreateCase(t, tok, "370323001", "GT001")
	var wg sync.WaitGroup
	statuses := make([]int, 16)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = env.Act(t, tok, id, v, "assign", map[string]any{"agent": "k.town", "note": fmt.Sprint("第", i, "次")}).Status
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 200:
			won++
		case 409:
		default:
			t.Fatalf("status %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("%d winners", won)
	}
	entries, err := env.App.Ledger.CaseEntries(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	assigns := 0
	for _, e := range entries {
		if e.Type == "case.assign" {
			assigns++
		}
	}
	if assigns != 1 {
		t.Fatalf("%d assign entries in the ledger", assigns)
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "f.county", "county_agent", "370323")
	tok := env.Token(t, "f.county")
	var ids []int64
	for i := 0; i < 7; i++ {
		region := "370323001001"
		if i%2 == 1 {
			region = "370323101201"
		}
		id, _ := env.CreateCase(t, tok, region, []string{"GT001", "SP001"}[i%2])
		ids = append(ids, id)
	}
	list := func(q string) []any {
		return env.Do(t, tok, http.MethodGet, "/api/v1/cases?"+q, nil, nil).Must(t, 200).JSON["items"].([]any)
	}
	if n := len(list("region=370323101")); n != 3 {
		t.Errorf("region subtree: %d", n)
	}
	if n := len(list("matter=SP001")); n != 3 {
		t.Errorf("matter: %d", n)
	}
	if n := len(list("state=consultation")); n != 7 {
		t.Errorf("state: %d", n)
	}
	first := list("limit=1")[0].(map[string]any)
	if n := len(list("q=" + first["number"].(string))); n != 1 {
		t.Errorf("q by number: %d", n)
	}
	if !strings.Contains(first["applicant"].(map[string]any)["id_number"].(string), "*") {
		t.Errorf("list shows full ID number: %v", first["applicant"])
	}
	// Cursor paging visits every case once.
	seen := map[float64]bool{}
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		r := env.Do(t, tok, http.MethodGet, "/api/v1/cases?limit=3"+cursor, nil, nil).Must(t, 200)
		for _, it := range r.JSON["items"].([]any) {
			seen[it.(map[string]any)["id"].(float64)] = true
		}
		next, _ := r.JSON["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(seen) != len(ids) {
		t.Errorf("paging saw %d of %d", len(seen), len(ids))
	}
	for _, bad := range []string{"state=flying", "limit=0", "cursor=zzz", "colour=red", "overdue=maybe"} {
		if r := env.Do(t, tok, http.MethodGet, "/api/v1/cases?"+bad, nil, nil); r.Status != 422 {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
}

// TestAssignWhileSuspended: assigning a handler (or adding a 督办 note) to
// a suspended case keeps the state it will resume to.
func TestAssignWhileSuspended(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "s2.town", "township_agent", "370323001")
	env.User(t, "s2.super", "supervisor", "370323001")
	tok := env.Token(t, "s2.town")
	id, _ := env.CreateCase(t, tok, "370323001", "GT001")
	c := caseJSON(t, env, tok, id)
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, 200).JSON
	sign(t, env, "s2.town", id, true)
	c = caseJSON(t, env, tok, id)
	c = env.Act(t, tok, id, version(c), "progress", map[string]any{"note": "受理"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "suspend", map[string]any{"reason": "申请人外出"}).Must(t, 200).JSON
	c = env.Act(t, tok, id, version(c), "assign", map[string]any{"agent": "s2.town"}).Must(t, 200).JSON
	c = env.Act(t, env.Token(t, "s2.super"), id, version(c), "supervise", map[string]any{"note": "请尽快续办"}).Must(t, 200).JSON
	if c["paused_from"] != "processing" {
		t.Fatalf("paused_from %v after assign and supervise while suspended", c["paused_from"])
	}
	c = env.Act(t, tok, id, version(c), "resume", map[string]any{"reason": "申请人返回"}).Must(t, 200).JSON
	if c["state"] != "processing" {
		t.Fatalf("resumed to %v", c["state"])
	}
	replayLedger(t, env, id)
}

// TestReceivedMaterialNeedsPages: a material ticked as received without a
// page count is refused, naming the material, and nothing is stored.
func TestReceivedMaterialNeedsPages(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.town", "township_agent", "370323001")
	tok := env.Token(t, "p.town")
	id, v := env.CreateCase(t, tok, "370323001", "GT001")
	c := caseJSON(t, env, tok, id)
	mats := allMaterials(c)
	mats[0]["pages"] = 0
	r := env.Act(t, tok, id, v, "review", map[string]any{"result": "accept", "materials": mats})
	first := c["materials"].([]any)[0].(map[string]any)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "materials[0].pages") || !strings.Contains(string(r.Body), first["name"].(string)) {
		t.Fatalf("review without pages: %d %s", r.Status, r.Body)
	}
	if after := caseJSON(t, env, tok, id); version(after) != v {
		t.Fatalf("refused review changed the case: version %d → %d", v, version(after))
	}
}

// TestUnprintableNameRefusedAtIntake: a name the documents cannot print
// (a private-use character, a bidirectional override, a character no font
// has) is refused when the case is opened, naming the character — not
// first at the tablet when the applicant is about to sign. A rare but
// printable name (Ext B) is registered.
func TestUnprintableNameRefusedAtIntake(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "n.town", "township_agent", "370323001")
	tok := env.Token(t, "n.town")
	person := apptest.Person(t, 8)
	for name, want := range map[string]string{"张\ue000": "私用区", "张\u202e三": "U+202E", "张\U00030000": "U+30000"} {
		p := map[string]string{}
		for k, v := range person {
			p[k] = v
		}
		p["name"] = name
		r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": p}, nil)
		if r.Status != http.StatusUnprocessableEntity || r.JSON["error"].(map[string]any)["field"] != "applicant.name" || !strings.Contains(string(r.Body), want) {
			t.Errorf("name %+q: %d %s", name, r.Status, r.Body)
		}
	}
	env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{"region": "370323001", "channel": "counter", "matter": "GT001", "applicant": person}, nil).Must(t, http.StatusCreated)
}
