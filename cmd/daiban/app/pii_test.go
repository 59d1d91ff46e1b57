package app_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/migrations"
	"github.com/daiban/daiban/sql/pgserver"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

// piiNeedles are the forms in which a person's numbers must not appear in
// a dump: the ID number whole and its last eight characters, the phone
// whole and written with dashes or spaces; each also hex-encoded (how a
// dump shows bytea).
func piiNeedles(people []demo.Person) map[string]string {
	out := map[string]string{}
	for _, p := range people {
		id, ph := p.IDNumber, p.Phone
		forms := map[string]string{
			id: "ID number", id[len(id)-8:]: "last 8 of the ID number", ph: "phone",
		}
		if len(ph) == 11 {
			forms[ph[:3]+"-"+ph[3:7]+"-"+ph[7:]] = "phone with dashes"
			forms[ph[:3]+" "+ph[3:7]+" "+ph[7:]] = "phone with spaces"
		}
		for f, what := range forms {
			out[f] = what + " of " + p.Name
			out[hex.EncodeToString([]byte(f))] = what + " (hex) of " + p.Name
		}
	}
	return out
}

// dumpColumns reads, as the owner, every column of every table in the
// public schema: rows as text, and bytea columns also unescaped.
func dumpColumns(t *testing.T, ctx context.Context, owner *pgxpool.Pool) string {
	t.Helper()
	rows, err := owner.Query(ctx, `SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = 'public')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, name, typ string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		err := r.Scan(&c.table, &c.name, &c.typ)
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	tables := map[string]bool{}
	for _, c := range cols {
		if !tables[c.table] {
			tables[c.table] = true
			var s *string
			q := fmt.Sprintf("SELECT string_agg(t::text, E'\\n') FROM %s t", pgx.Identifier{c.table}.Sanitize())
			if err := owner.QueryRow(ctx, q).Scan(&s); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if s != nil {
				b.WriteString(*s + "\n")
			}
		}
		if c.typ == "bytea" {
			var s *string
			q := fmt.Sprintf("SELECT string_agg(encode(%s, 'escape'), E'\\n') FROM %s", pgx.Identifier{c.name}.Sanitize(), pgx.Identifier{c.table}.Sanitize())
			if err := owner.QueryRow(ctx, q).Scan(&s); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if s != nil {
				b.WriteString(*s + "\n")
			}
		}
	}
	if len(tables) < 10 {
		t.Fatalf("dump read only %d tables", len(tables))
	}
	return b.String()
}

// pgDump is pg_dump's output for the database at url (the installed
// server's pg_dump, through symbolic links, else the one on PATH), or ""
// when pg_dump is not installed.
func pgDump(t *testing.T, url string) string {
	t.Helper()
	prog := "pg_dump"
	if b, err := pgserver.Find(); err == nil {
		if real, err := filepath.EvalSymlinks(b.Postgres); err == nil {
			if p := filepath.Join(filepath.Dir(real), "pg_dump"); fileExists(p) {
				prog = p
			}
		}
	}
	out, err := exec.Command(prog, "--no-owner", "-d", url).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pg_dump: %v: %s", err, ee.Stderr)
		}
		t.Logf("pg_dump not run: %v", err)
		return ""
	}
	if !bytes.Contains(out, []byte("COPY public.cases")) {
		t.Fatalf("pg_dump output holds no cases table (%d bytes)", len(out))
	}
	return string(out)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// assertNoPII fails for every needle found in the dump named what.
func assertNoPII(t *testing.T, what, dump string, needles map[string]string) {
	t.Helper()
	for n, desc := range needles {
		if i := strings.Index(dump, n); i >= 0 {
			t.Errorf("%s holds the %s in clear: …%s…", what, desc, dump[max(0, i-60):min(len(dump), i+len(n)+20)])
		}
	}
}

// piiPeople is the first n persons and the first enterprise of the demo.
func piiPeople(t *testing.T, n int) []demo.Person {
	t.Helper()
	all, err := demo.People()
	if err != nil {
		t.Fatal(err)
	}
	var out []demo.Person
	ent := false
	for _, p := range all {
		if p.Kind == "person" && len(out) < n || p.Kind == "enterprise" && !ent {
			out = append(out, p)
			ent = ent || p.Kind == "enterprise"
		}
	}
	return out
}

func openCase(t *testing.T, env *apptest.Env, tok string, p demo.Person, key string) int64 {
	t.Helper()
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001001", "channel": "village", "matter": "GT001", "summary": "个人信息加密测试",
		"applicant": map[string]string{"kind": p.Kind, "name": p.Name, "id_number": strings.ToLower(p.IDNumber), "phone": p.Phone},
	}, map[string]string{"Idempotency-Key": key}).Must(t, http.StatusCreated)
	return int64(r.JSON["id"].(float64))
}

// TestPIIAtRest opens cases (with idempotent requests, whose responses are
// stored, and a document) and dumps the database as its owner: no ID
// number or phone appears in clear, yet the agent of a case sees them in
// full, lists mask them, an exact phone or ID number finds its case, and a
// sealed number moved to another row does not open.
func TestPIIAtRest(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := t.Context()
	env.User(t, "pii.county", "county_agent", "370323")
	env.User(t, "pii.super", "supervisor", "370323")
	tok, super := env.Token(t, "pii.county"), env.Token(t, "pii.super")
	people := piiPeople(t, 3)
	ids := map[string]int64{}
	for i, p := range people {
		id := openCase(t, env, tok, p, fmt.Sprintf("pii-%d", i))
		ids[p.IDNumber] = id
		c := caseJSON(t, env, tok, id)
		env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c)}).Must(t, http.StatusOK)
		env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", id), nil, nil).Must(t, http.StatusCreated)
	}
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	needles := piiNeedles(people)

	t.Run("dump holds no number", func(t *testing.T) {
		assertNoPII(t, "a SELECT of every column", dumpColumns(t, ctx, owner), needles)
		assertNoPII(t, "pg_dump", pgDump(t, env.URL), needles)
	})
	t.Run("the agent sees them in full, lists and supervisors masked", func(t *testing.T) {
		for _, p := range people {
			ap := caseJSON(t, env, tok, ids[p.IDNumber])["applicant"].(map[string]any)
			if ap["id_number"] != p.IDNumber || ap["phone"] != p.Phone {
				t.Errorf("agent sees %v, want %s %s", ap, p.IDNumber, p.Phone)
			}
			ap = caseJSON(t, env, super, ids[p.IDNumber])["applicant"].(map[string]any)
			if ap["id_number"] != cases.MaskID(p.IDNumber) || ap["phone"] != cases.MaskPhone(p.Phone) {
				t.Errorf("supervisor sees %v", ap)
			}
		}
		list := env.Do(t, tok, http.MethodGet, "/api/v1/cases", nil, nil).Must(t, http.StatusOK)
		for _, p := range people {
			if bytes.Contains(list.Body, []byte(p.IDNumber)) || bytes.Contains(list.Body, []byte(p.Phone)) {
				t.Errorf("the list shows %s's numbers in full", p.Name)
			}
			if !bytes.Contains(list.Body, []byte(cases.MaskID(p.IDNumber))) {
				t.Errorf("the list lacks %s's masked ID number", p.Name)
			}
		}
	})
	t.Run("exact search by blind index", func(t *testing.T) {
		for _, p := range people {
			ph := p.Phone[:3] + "-" + p.Phone[3:7] + " " + p.Phone[7:]
			for _, f := range []cases.Filter{{Phone: p.Phone}, {Phone: ph}, {IDNumber: strings.ToLower(p.IDNumber)}} {
				f.Scope, f.Limit = "370323", 10
				got, err := env.App.Cases.List(ctx, f)
				if err != nil || len(got) != 1 || got[0].ID != ids[p.IDNumber] {
					t.Errorf("search %+v: %d cases, %v; want case %d", f, len(got), err, ids[p.IDNumber])
				}
			}
			got, err := env.App.Cases.List(ctx, cases.Filter{Scope: "370323", Limit: 10, Phone: p.Phone[:7]})
			if err != nil || len(got) != 0 {
				t.Errorf("a phone prefix finds %d cases (%v); search is exact", len(got), err)
			}
		}
	})
	t.Run("idempotent replay opens the stored response", func(t *testing.T) {
		p := people[0]
		if id := openCase(t, env, tok, p, "pii-0"); id != ids[p.IDNumber] {
			t.Errorf("replay answered case %d, want %d", id, ids[p.IDNumber])
		}
	})
	t.Run("a number moved to another row does not open", func(t *testing.T) {
		a, b := ids[people[0].IDNumber], ids[people[1].IDNumber]
		if _, err := owner.Exec(ctx, `UPDATE cases SET applicant_id_number_enc = (SELECT applicant_id_number_enc FROM cases WHERE id = $2) WHERE id = $1`, a, b); err != nil {
			t.Fatal(err)
		}
		_, err := env.App.Cases.Get(ctx, a)
		if !errors.Is(err, pii.ErrOpen) {
			t.Errorf("case %d with case %d's sealed ID number: %v, want ErrOpen", a, b, err)
		}
		if r := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", a), nil, nil); bytes.Contains(r.Body, []byte(people[1].IDNumber)) {
			t.Errorf("the moved number shows on the other case: %d %s", r.Status, r.Body)
		}
	})
}

// sealedVersions counts the cases by the key version of their sealed ID
// number and phone.
func sealedVersions(t *testing.T, ctx context.Context, owner *pgxpool.Pool) map[uint32]int {
	t.Helper()
	rows, err := owner.Query(ctx, "SELECT applicant_id_number_enc, applicant_phone_enc FROM cases")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]int{}
	for rows.Next() {
		var a, b []byte
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		va, _ := pii.VersionOf(a)
		vb, _ := pii.VersionOf(b)
		out[va]++
		out[vb]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPIIRotation rotates the key while the server runs: values sealed
// under the old version still open and are found before the re-sealing,
// new ones are sealed under the new version, and after cases.Reseal every
// value is under the new version and found by its new index.
func TestPIIRotation(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := t.Context()
	env.User(t, "rot.county", "county_agent", "370323")
	tok := env.Token(t, "rot.county")
	people := piiPeople(t, 2)
	before := openCase(t, env, tok, people[0], "rot-0")
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()

	v, err := pii.Rotate(env.Keys)
	if err != nil || v != 2 {
		t.Fatalf("rotate: %d %v", v, err)
	}
	find := func(t *testing.T, p demo.Person, want int64) {
		t.Helper()
		for _, f := range []cases.Filter{{Phone: p.Phone}, {IDNumber: p.IDNumber}} {
			f.Scope, f.Limit = "370323", 10
			got, err := env.App.Cases.List(ctx, f)
			if err != nil || len(got) != 1 || got[0].ID != want {
				t.Errorf("search %+v: %d cases %v, want case %d", f, len(got), err, want)
			}
		}
		ap := caseJSON(t, env, tok, want)["applicant"].(map[string]any)
		if ap["id_number"] != p.IDNumber || ap["phone"] != p.Phone {
			t.Errorf("case %d shows %v", want, ap)
		}
	}
	var after int64
	t.Run("before re-sealing", func(t *testing.T) {
		// The server rereads pii.key within a second.
		time.Sleep(1100 * time.Millisecond)
		after = openCase(t, env, tok, people[1], "rot-1")
		if got := sealedVersions(t, ctx, owner); got[1] != 2 || got[2] != 2 {
			t.Errorf("sealed values by version %v, want 2 under 1 and 2 under 2", got)
		}
		find(t, people[0], before)
		find(t, people[1], after)
	})
	t.Run("after re-sealing", func(t *testing.T) {
		n, m, err := cases.Reseal(ctx, env.Pool, env.App.PII)
		if err != nil || n != 1 || m != 1 {
			t.Fatalf("reseal: %d cases, %d responses, %v; want 1 and 1", n, m, err)
		}
		if got := sealedVersions(t, ctx, owner); got[2] != 4 || len(got) != 1 {
			t.Errorf("sealed values by version %v, want all 4 under 2", got)
		}
		if _, err := pii.Retire(env.Keys); err != nil {
			t.Fatal(err)
		}
		k, err := pii.Load(env.Keys)
		if err != nil || k.Current() != 2 || len(k.Indexes(pii.CasePhone, "1")) != 1 {
			t.Fatalf("after retiring: %v", err)
		}
		time.Sleep(1100 * time.Millisecond) // the server rereads the key file
		find(t, people[0], before)
		find(t, people[1], after)
		if id := openCase(t, env, tok, people[0], "rot-0"); id != before {
			t.Errorf("replay of a re-sealed response: case %d, want %d", id, before)
		}
	})
}

// TestPIIMigration starts from the schema before 00009 with numbers in
// clear, migrates, and starts the server: the numbers are sealed at start,
// the clear copies are gone, and the case shows them as before.
func TestPIIMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewDatabase(t, "")
	owner, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if err := migrations.UpTo(ctx, owner, 8); err != nil {
		t.Fatal(err)
	}
	p := piiPeople(t, 1)[0]
	for _, stmt := range []string{
		`INSERT INTO regions (code, name, level) VALUES ('370323', '沂源县', 'county')`,
		`INSERT INTO matters (code, name, department, level, limit_days, complexity) VALUES ('GT001', '个体工商户设立登记', '县市场监管局', 'county', 1, 'simple')`,
		fmt.Sprintf(`INSERT INTO cases (number, tracking_code, region, channel, matter_code, title, matter_codes, complexity, limit_days,
			applicant_kind, applicant_name, applicant_id_number, applicant_phone, state, created_by)
			VALUES ('370323-20260101-0001', 'MIG000000001', '370323', 'counter', 'GT001', '个体工商户设立登记', ARRAY['GT001'], 'simple', 1,
			'person', '%s', '%s', '%s', 'consultation', 'mig.county')`, p.Name, p.IDNumber, p.Phone),
	} {
		if _, err := owner.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := migrations.Up(ctx, owner, nil); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM cases_pii_pending").Scan(&pending); err != nil || pending != 1 {
		t.Fatalf("after the migration: %d pending, %v; want 1", pending, err)
	}
	env := apptest.NewShared(t, url)
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM cases_pii_pending").Scan(&pending); err != nil || pending != 0 {
		t.Errorf("after the start: %d pending, %v; want 0", pending, err)
	}
	c, err := env.App.Cases.Get(ctx, 1)
	if err != nil || c.Applicant.IDNumber != p.IDNumber || c.Applicant.Phone != p.Phone {
		t.Errorf("case after the conversion: %+v %v", c.Applicant, err)
	}
	got, err := env.App.Cases.List(ctx, cases.Filter{Scope: "370323", Limit: 5, Phone: p.Phone})
	if err != nil || len(got) != 1 {
		t.Errorf("search by phone after the conversion: %d cases, %v", len(got), err)
	}
	assertNoPII(t, "a SELECT of every column", dumpColumns(t, ctx, owner), piiNeedles([]demo.Person{p}))
	// A second start finds nothing to do.
	if n, err := cases.SealPending(ctx, env.Pool, env.App.PII); n != 0 || err != nil {
		t.Errorf("second conversion: %d, %v", n, err)
	}
}
