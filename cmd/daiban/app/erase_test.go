package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
)

// TestPersonEraseLeavesLogVerifiable: erasing an applicant is refused while
// a case of theirs is open or inside the retention period; afterwards the
// published log is byte for byte what it was and still verifies from the
// outside, the erasure is itself an entry without the data, and a pg_dump
// of the whole database holds neither the name, nor the ID number, nor the
// phone.
func TestPersonEraseLeavesLogVerifiable(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "x.town", "township_agent", "370323001")
	tok := env.Token(t, "x.town")
	person := apptest.Person(t, 6)
	newCase := func(matter string) (int64, int) {
		r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
			"region": "370323001002", "channel": "counter", "matter": matter, "applicant": person,
			"summary": person["name"] + "咨询", "duplicate_reason": "另一事项",
		}, nil).Must(t, 201)
		return int64(r.JSON["id"].(float64)), int(r.JSON["version"].(float64))
	}
	closed, v := newCase("SP001")
	env.Act(t, tok, closed, v, "guide", map[string]any{"note": "已告知" + person["name"] + "（电话 " + person["phone"] + "）所需材料"}).Must(t, 200)
	open, v := newCase("SP001")
	ctx := t.Context()
	// The closed case came from a booking and had its result posted: the
	// booking's name and the delivery's waybill go with the erasure too.
	waybill := "EM" + person["phone"][3:] + "CN"
	if _, err := env.Pool.Exec(ctx, `
		WITH s AS (INSERT INTO appointment_slots (region, day, half, capacity, booked, opened_by, opened_at)
		           VALUES ('370323001', '2026-09-21', 'am', 1, 1, 'x.town', now()) RETURNING id)
		INSERT INTO appointments (code, slot_id, region, day, half, matter_code, name, phone_enc, phone_last4, status, case_id, created_at, updated_at)
		SELECT 'ERASEME001', s.id, '370323001', '2026-09-21', 'am', 'SP001', $1, $2, $3, 'arrived', $4, now(), now() FROM s`,
		person["name"], env.App.PII.SealString(pii.AppointmentPhone, "ERASEME001", person["phone"]), person["phone"][7:], closed); err != nil {
		t.Fatal(err)
	}
	// Another booking of the same phone, still open: cancelled, its place
	// freed, and it keeps no name.
	if _, err := env.Pool.Exec(ctx, `
		WITH s AS (INSERT INTO appointment_slots (region, day, half, capacity, booked, opened_by, opened_at)
		           VALUES ('370323001', '2026-09-22', 'pm', 2, 1, 'x.town', now()) RETURNING id)
		INSERT INTO appointments (code, slot_id, region, day, half, matter_code, name, phone_enc, phone_last4, phone_idx, status, created_at, updated_at)
		SELECT 'ERASEME002', s.id, '370323001', '2026-09-22', 'pm', 'GT001', $1, $2, $3, $4, 'booked', now(), now() FROM s`,
		person["name"], env.App.PII.SealString(pii.AppointmentPhone, "ERASEME002", person["phone"]), person["phone"][7:],
		env.App.PII.Index(pii.AppointmentPhone, person["phone"])); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Pool.Exec(ctx, `INSERT INTO case_deliveries (case_id, method, carrier, waybill, updated_at) VALUES ($1, 'post', '中国邮政EMS', $2, now())`, closed, waybill); err != nil {
		t.Fatal(err)
	}
	erase := func(retention time.Duration, dry bool) (cases.Erasure, error) {
		return cases.ErasePerson(ctx, env.Pool, env.App.PII, "cli:admin", person["id_number"], retention, time.Now(), dry)
	}
	if _, err := erase(0, false); daiban.ErrorCode(err) != daiban.EINVALIDTRANSITION || !strings.Contains(daiban.ErrorMessage(err), "尚在办理中") {
		t.Fatalf("erasure with an open case: %v", err)
	}
	env.Act(t, tok, open, v, "terminate", map[string]any{"reason": person["name"] + "本人撤回申请", "by": "applicant"}).Must(t, 200)
	if _, err := erase(365*24*time.Hour, false); daiban.ErrorCode(err) != daiban.EINVALIDTRANSITION || !strings.Contains(daiban.ErrorMessage(err), "保存期限") {
		t.Fatalf("erasure inside the retention period: %v", err)
	}
	publish(t, env)
	out := outsider{t: t, base: env.Server.URL, logKey: env.App.Signer.VerifierKey(), witKey: env.App.Witness.VerifierKey()}
	before := out.fetch()

	dry, err := erase(0, true)
	if err != nil || len(dry.Cases) != 2 || !dry.DryRun {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if !strings.Contains(string(dumpAll(t, env)), person["name"]) {
		t.Fatal("the dry run erased the name")
	}
	done, err := erase(0, false)
	if err != nil || len(done.Cases) != 2 {
		t.Fatalf("erasure: %+v %v", done, err)
	}
	publish(t, env)
	after := out.fetch()
	for i := range before.leaves {
		if !bytes.Equal(before.leaves[i], after.leaves[i]) {
			t.Fatalf("leaf %d changed by the erasure", i)
		}
	}
	last := after.leaves[len(after.leaves)-1]
	if !bytes.Contains(last, []byte(`"person.erased"`)) || bytes.Contains(last, []byte(person["name"])) {
		t.Fatalf("the erasure's entry: %s", last)
	}
	if err := consistency(t, after, before.size, before.root); err != nil {
		t.Fatalf("consistency across the erasure: %v", err)
	}
	if err := ledger.VerifyRemote(ctx, ledger.RemoteOptions{URL: env.Server.URL, LogKey: out.logKey, WitnessKeys: []string{out.witKey}}, &bytes.Buffer{}); err != nil {
		t.Fatalf("verify --remote after erasure: %v", err)
	}
	dump := dumpAll(t, env)
	for what, v := range map[string]string{"name": person["name"], "ID number": person["id_number"], "phone": person["phone"], "waybill": waybill} {
		if bytes.Contains(dump, []byte(v)) {
			t.Errorf("pg_dump after erasure still holds the %s %q", what, v)
		}
	}
	var status string
	var booked int
	if err := env.Pool.QueryRow(ctx, `SELECT a.status, s.booked FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id WHERE a.code = 'ERASEME002'`).Scan(&status, &booked); err != nil || status != "cancelled" || booked != 0 {
		t.Errorf("the person's open booking after erasure: %s, %d booked, %v", status, booked, err)
	}
	c := caseJSON(t, env, tok, closed)
	if app := c["applicant"].(map[string]any); app["name"] != cases.ErasedName || app["id_number"] != "" {
		t.Errorf("erased applicant shows %v", app)
	}
	if tl := string(mustJSON(c["timeline"])); !strings.Contains(tl, ledger.ErasedValue) {
		t.Errorf("timeline after erasure: %s", tl)
	}
	t.Logf("pg_dump after erasure: %d bytes, none of name/ID/phone; log %d → %d leaves", len(dump), before.size, after.size)
}

// dumpAll is the existing pgDump helper, which must have run: an erasure
// test that dumps nothing proves nothing.
func dumpAll(t *testing.T, env *apptest.Env) []byte {
	t.Helper()
	d := pgDump(t, env.URL)
	if d == "" {
		t.Fatal("pg_dump is not installed")
	}
	return []byte(d)
}
