package faults_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// withEnv returns env with key set to val (replacing any earlier value).
func withEnv(env []string, key, val string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return append(out, key+"="+val)
}

func envOf(env []string, key string) string {
	v := ""
	for _, e := range env {
		if s, ok := strings.CutPrefix(e, key+"="); ok {
			v = s
		}
	}
	return v
}

// makeSupervisor creates a county-level supervisor on the database at url.
func makeSupervisor(t *testing.T, url, username string) agent {
	t.Helper()
	a := agent{username: username, region: demoRegions(t, "county")[0]}
	createUsers(t, url, users.NewUser{Username: username, Name: "督查人员", Role: "supervisor", Region: a.region, Password: password})
	return a
}

type seenCheckpoint struct {
	size int64
	note string
	from string
}

func TestThreeInstancesUnderLoad(t *testing.T) {
	bin := buildDaiban(t)
	url := pgtest.NewDatabase(t, apptest.Template(t))
	agents := makeAgents(t, url, 6)
	super := makeSupervisor(t, url, "fault.super")

	var ds []*daiban
	for i := range 3 {
		d := newDaiban(t, bin, url)
		if i > 0 {
			d.env = withEnv(d.env, "DAIBAN_KEYS", envOf(ds[0].env, "DAIBAN_KEYS"))
		}
		// Sequential start: the first creates the shared keys.
		d.start(t)
		ds = append(ds, d)
	}

	rec := newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wgs []*sync.WaitGroup
	for i, d := range ds {
		wgs = append(wgs, runWorkers(ctx, "http://"+d.addr, agents[2*i:2*i+2], rec, fmt.Sprintf("three%d", i), false))
	}

	// Supervisor polls the checkpoint on all three.
	var cpMu sync.Mutex
	var cps []seenCheckpoint
	var pollErrs []string
	var pwg sync.WaitGroup
	for i, d := range ds {
		pwg.Go(func() {
			var c *client
			seen := false
			for n := 0; n < 2000 && ctx.Err() == nil; n++ {
				if c == nil {
					var err error
					if c, err = login(ctx, "http://"+d.addr, super); err != nil {
						c = nil
						if ctx.Err() == nil {
							cpMu.Lock()
							pollErrs = append(pollErrs, fmt.Sprintf("login on %d: %v", i, err))
							cpMu.Unlock()
						}
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				r, err := c.do(ctx, http.MethodGet, "/api/v1/ledger/checkpoint", nil, nil)
				if err == nil && r.status == http.StatusNotFound && r.code() == "not_found" && !seen {
					// No checkpoint integrated yet: fine before the first one.
				} else if err != nil || r.status != http.StatusOK {
					if ctx.Err() == nil {
						cpMu.Lock()
						pollErrs = append(pollErrs, fmt.Sprintf("checkpoint on %d: %v %d %s", i, err, r.status, r.raw))
						cpMu.Unlock()
					}
				} else {
					note, _ := r.body["note"].(string)
					seen = true
					cpMu.Lock()
					cps = append(cps, seenCheckpoint{size: r.num("size"), note: note, from: d.addr})
					cpMu.Unlock()
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	<-ctx.Done()
	for _, wg := range wgs {
		wg.Wait()
	}
	pwg.Wait()

	acks := rec.snapshot()
	t.Logf("acks: %d; non-2xx: %v; checkpoints seen: %d", len(acks), rec.statuses, len(cps))
	if len(acks) == 0 {
		t.Fatalf("nothing acknowledged; anomalies: %v %v", rec.unexpects, rec.connErrs)
	}
	for _, u := range rec.unexpects {
		t.Errorf("unexpected answer under load: %s", u)
	}
	for _, e := range rec.connErrs {
		if !strings.Contains(e, "context canceled") && !strings.Contains(e, "deadline exceeded") {
			t.Errorf("transport error: %s", e)
		}
	}
	for _, e := range pollErrs {
		t.Errorf("supervisor poll: %s", e)
	}
	if len(cps) == 0 {
		t.Fatal("no checkpoint seen")
	}

	if out, err := ds[0].run(t, "ledger", "checkpoint"); err != nil {
		t.Fatalf("daiban ledger checkpoint: %v\n%s", err, out)
	}

	// Distinct checkpoints, by note; the same size must have one note.
	bySize := map[int64]string{}
	uniq := map[string]seenCheckpoint{}
	for _, cp := range cps {
		if cp.note == "" {
			t.Errorf("empty checkpoint note from %s (size %d)", cp.from, cp.size)
			continue
		}
		if prev, ok := bySize[cp.size]; ok && !sameBody(prev, cp.note) {
			t.Errorf("two different checkpoints of size %d:\n%s\n%s", cp.size, prev, cp.note)
		}
		bySize[cp.size] = cp.note
		uniq[cp.note] = cp
	}
	var list []seenCheckpoint
	for _, cp := range uniq {
		list = append(list, cp)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].size < list[j].size })
	// Verify each distinct checkpoint (bounded: at most 40, spread).
	step := 1
	if len(list) > 40 {
		step = len(list) / 40
	}
	dir := t.TempDir()
	verified := 0
	for i := 0; i < len(list); i += step {
		cp := list[i]
		f := filepath.Join(dir, fmt.Sprintf("cp-%d-%d.txt", cp.size, i))
		if err := os.WriteFile(f, []byte(cp.note), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := ds[0].run(t, "ledger", "verify", "--checkpoint", f); err != nil {
			t.Errorf("ledger verify --checkpoint (size %d from %s): %v\n%s", cp.size, cp.from, err, out)
		}
		verified++
	}
	t.Logf("verified %d of %d distinct checkpoints (sizes %d..%d)", verified, len(list), list[0].size, list[len(list)-1].size)

	// Leaves: contiguous 0..n-1, unique entries.
	qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer qcancel()
	conn, err := pgx.Connect(qctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, minIdx, maxIdx, distinctEntries, entries int64
	if err := conn.QueryRow(qctx, `SELECT count(*), coalesce(min(leaf_index), 0), coalesce(max(leaf_index), -1), count(DISTINCT entry_id) FROM ledger_leaves`).Scan(&n, &minIdx, &maxIdx, &distinctEntries); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(qctx, `SELECT count(*) FROM ledger_entries`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if n == 0 || minIdx != 0 || maxIdx != n-1 || distinctEntries != n {
		t.Errorf("ledger_leaves: %d rows, indexes %d..%d, %d distinct entries", n, minIdx, maxIdx, distinctEntries)
	}
	if n != entries {
		t.Errorf("after ledger checkpoint: %d leaves but %d ledger entries", n, entries)
	}
	t.Logf("ledger: %d leaves, %d entries", n, entries)
	checkDurable(t, url, acks)
}

// sameBody compares two checkpoint notes by their text (before the
// signature lines), since two signers with one key sign identically for
// Ed25519 but be lenient anyway.
func sameBody(a, b string) bool {
	body := func(s string) string {
		if i := strings.Index(s, "\n\n"); i >= 0 {
			return s[:i]
		}
		return s
	}
	return body(a) == body(b)
}

func signaturePNG(t *testing.T, seed int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 300, 120))
	for x := 10; x < 290; x++ {
		y := 60 + int(30*float64((x*seed)%89)/89.0) - 15
		for d := -2; d <= 2; d++ {
			img.Set(x, y+d, color.NRGBA{0, 0, 0, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// TestFailedSealLeavesNothing makes the sealing step fail in a running
// server and checks the applicant's signature is refused as a whole.
//
// The seal key cannot be broken from outside: app.New loads it once
// (agreements.LoadSealer) and Sealer.Seal only uses the in-memory key, so
// overwriting or chmod-ing DAIBAN_KEYS/seal.key has no effect on a running
// server. Instead the sealing transaction is made to fail at its storage
// step: a trigger refuses the documents UPDATE that marks the draft sealed
// (documents.Service.seal, after ledger.Append of document.sealed in the
// same transaction).
func TestFailedSealLeavesNothing(t *testing.T) {
	bin := buildDaiban(t)
	url := pgtest.NewDatabase(t, apptest.Template(t))
	agents := makeAgents(t, url, 1)
	d := newDaiban(t, bin, url)
	d.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := "http://" + d.addr
	c, err := login(ctx, base, agents[0])
	if err != nil {
		t.Fatal(err)
	}
	id, token, p := agreementPending(ctx, t, c, agents[0], 3)

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var entriesBefore int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&entriesBefore); err != nil {
		t.Fatal(err)
	}
	// Break sealing.
	if _, err := conn.Exec(ctx, `
		CREATE FUNCTION faults_refuse_seal() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'fault injected: sealing refused'; END $$;
		CREATE TRIGGER faults_refuse_seal BEFORE UPDATE ON documents FOR EACH ROW
		WHEN (NEW.status = 'sealed') EXECUTE FUNCTION faults_refuse_seal();`); err != nil {
		t.Fatal(err)
	}

	anon := &client{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	signBody := map[string]any{"image_png": signaturePNG(t, 5), "id_last4": p.IDNumber[14:]}
	r, err := anon.do(ctx, http.MethodPost, "/api/v1/sign/"+token, signBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("applicant signature with sealing broken: %d %s", r.status, r.raw)
	if r.status != http.StatusInternalServerError && r.status != http.StatusServiceUnavailable {
		t.Errorf("applicant signature with sealing broken: %d, want 500 or 503", r.status)
	}
	e, _ := r.body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if e == nil || r.code() == "" || !hasHan(msg) {
		t.Errorf("answer is not the error envelope with a Chinese message: %s", r.raw)
	}
	if strings.Contains(string(r.raw), "fault injected") {
		t.Errorf("internal error text leaked to the client: %s", r.raw)
	}

	checkNotSigned(ctx, t, conn, id, entriesBefore, -1)
	// The link is still usable.
	r, err = anon.do(ctx, http.MethodGet, "/api/v1/sign/"+token, nil, nil)
	if err != nil || r.status != http.StatusOK {
		t.Errorf("signing link after the failed seal: %v %d %s", err, r.status, r.raw)
	}
	if out, err := d.run(t, "ledger", "checkpoint"); err != nil {
		t.Fatalf("daiban ledger checkpoint: %v\n%s", err, out)
	}
	if out, err := d.run(t, "ledger", "verify"); err != nil {
		t.Fatalf("daiban ledger verify: %v\n%s", err, out)
	}

	// Repair; the same link now completes the agreement.
	if _, err := conn.Exec(ctx, `DROP TRIGGER faults_refuse_seal ON documents; DROP FUNCTION faults_refuse_seal();`); err != nil {
		t.Fatal(err)
	}
	r, err = anon.do(ctx, http.MethodPost, "/api/v1/sign/"+token, signBody, nil)
	if err != nil || r.status != http.StatusOK {
		t.Fatalf("applicant signature after repair: %v %d %s", err, r.status, r.raw)
	}
	checkSigned(ctx, t, conn, id)
	if out, err := d.run(t, "ledger", "verify"); err != nil {
		t.Fatalf("daiban ledger verify after repair: %v\n%s", err, out)
	}
}

// agreementPending creates a case for demo person n, reviews it to
// agreement_pending, makes the agreement and adds the agent's signature; it
// returns the case, the applicant's signing token and the applicant.
func agreementPending(ctx context.Context, t *testing.T, c *client, a agent, n int) (int64, string, demo.Person) {
	t.Helper()
	ps, err := people()
	if err != nil {
		t.Fatal(err)
	}
	p := ps[n%len(ps)]
	must := func(what string, r answer, err error, want int) answer {
		t.Helper()
		if err != nil || r.status != want {
			t.Fatalf("%s: %v %d %s (want %d)", what, err, r.status, r.raw, want)
		}
		return r
	}
	r, err := c.do(ctx, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": a.region, "channel": "counter", "matter": "SP001",
		"applicant":        map[string]string{"kind": p.Kind, "name": p.Name, "id_number": p.IDNumber, "phone": p.Phone},
		"summary":          "故障注入：签署协议",
		"duplicate_reason": "测试：同一申请人多件",
	}, nil)
	must("create", r, err, http.StatusCreated)
	id := r.num("id")
	path := fmt.Sprintf("/api/v1/cases/%d", id)
	r, err = c.do(ctx, http.MethodGet, path, nil, nil)
	must("get case", r, err, http.StatusOK)
	var mats []map[string]any
	ms, _ := r.body["materials"].([]any)
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		mats = append(mats, map[string]any{"code": mm["code"], "received": true, "original": mm["required_original"], "pages": 2})
	}
	r, err = c.do(ctx, http.MethodPost, path+"/actions/review", map[string]any{"result": "accept", "materials": mats},
		map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(r.num("version")))})
	must("review", r, err, http.StatusOK)
	if st, _ := r.body["state"].(string); st != "agreement_pending" {
		t.Fatalf("after review: state %q, want agreement_pending", st)
	}
	r, err = c.do(ctx, http.MethodPost, path+"/agreement", nil, nil)
	must("agreement", r, err, http.StatusCreated)
	link, _ := r.body["signing_url"].(string)
	token := strings.TrimPrefix(link, "/sign/")
	if token == "" || token == link {
		t.Fatalf("signing_url %q", link)
	}
	r, err = c.do(ctx, http.MethodPost, path+"/agreement/signatures", map[string]any{"image_png": signaturePNG(t, 3)}, nil)
	must("agent signature", r, err, http.StatusOK)
	return id, token, p
}

// checkNotSigned checks that a refused applicant signature left case id
// as it was: still agreement_pending, no sealed agreement or PDF, no
// applicant signature, and no ledger entry since there were entriesBefore
// in the whole ledger, or, with entriesBefore < 0 (other writers at work),
// caseEntriesBefore for the case.
func checkNotSigned(ctx context.Context, t *testing.T, conn *pgx.Conn, id, entriesBefore, caseEntriesBefore int64) {
	t.Helper()
	var state string
	var sealed, applicantSigs, bad, entriesAfter int64
	if err := conn.QueryRow(ctx, `SELECT state FROM cases WHERE id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "agreement_pending" {
		t.Errorf("case state after failed seal: %s, want agreement_pending", state)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM documents WHERE case_id = $1 AND kind = 'agreement' AND (status <> 'draft' OR pdf IS NOT NULL)`, id).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if sealed != 0 {
		t.Errorf("%d agreement documents sealed or with a PDF after the failed seal", sealed)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM signatures s JOIN documents d ON d.id = s.document_id WHERE d.case_id = $1 AND s.role = 'applicant'`, id).Scan(&applicantSigs); err != nil {
		t.Fatal(err)
	}
	if applicantSigs != 0 {
		t.Errorf("applicant signature stored although the signing failed")
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE case_id = $1 AND type IN ('document.sealed', 'case.agreement_signed')`, id).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d document.sealed / case.agreement_signed ledger entries after the failed seal", bad)
	}
	if entriesBefore < 0 {
		entriesBefore = caseEntriesBefore
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE case_id = $1`, id).Scan(&entriesAfter); err != nil {
			t.Fatal(err)
		}
	} else if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&entriesAfter); err != nil {
		t.Fatal(err)
	}
	if entriesAfter != entriesBefore {
		t.Errorf("ledger grew from %d to %d entries by a failed signing", entriesBefore, entriesAfter)
	}
}

// checkSigned checks that case id's agreement was signed and sealed once:
// the case left agreement_pending and the ledger has exactly one
// document.sealed and one case.agreement_signed entry for it.
func checkSigned(ctx context.Context, t *testing.T, conn *pgx.Conn, id int64) {
	t.Helper()
	var state string
	var n int64
	if err := conn.QueryRow(ctx, `SELECT state FROM cases WHERE id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM ledger_entries WHERE case_id = $1 AND type IN ('document.sealed', 'case.agreement_signed')`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("signed: state %s, %d seal/agreement ledger entries", state, n)
	if state == "agreement_pending" {
		t.Errorf("case %d still agreement_pending after the applicant signed", id)
	}
	if n != 2 {
		t.Errorf("case %d: %d document.sealed/case.agreement_signed entries, want 2", id, n)
	}
}
