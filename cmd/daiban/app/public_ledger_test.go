package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/migrations"
)

// outsider is a second party that knows only the server's URL and the
// published keys, and checks the log with transparency-dev/merkle and
// transparency-dev/formats: libraries the project does not use for its
// own ledger.
type outsider struct {
	t              *testing.T
	base           string
	logKey, witKey string
}

type published struct {
	size   uint64
	root   []byte
	note   []byte
	leaves [][]byte
}

func (o outsider) get(path string) (*http.Response, []byte) {
	o.t.Helper()
	resp, err := http.Get(o.base + path)
	if err != nil {
		o.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		o.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return resp, b
}

// tileIndex encodes a tile number as C2SP tlog-tiles does: groups of three
// digits, all but the last prefixed with x.
func tileIndex(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// fetch reads the checkpoint, checks the log's signature and the
// witness's cosignature, reads every entry tile and rebuilds the tree.
func (o outsider) fetch() published {
	o.t.Helper()
	_, key := o.get("/ledger/key")
	if strings.TrimSpace(string(key)) != o.logKey {
		o.t.Fatalf("/ledger/key %q is not the published key %q", key, o.logKey)
	}
	logV, err := fnote.NewVerifier(o.logKey)
	if err != nil {
		o.t.Fatal(err)
	}
	witV, err := fnote.NewVerifierForCosignatureV1(o.witKey)
	if err != nil {
		o.t.Fatal(err)
	}
	resp, msg := o.get("/ledger/checkpoint")
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "public") {
		o.t.Errorf("checkpoint Cache-Control %q", cc)
	}
	cp, _, n, err := flog.ParseCheckpoint(msg, logV.Name(), logV, witV)
	if err != nil {
		o.t.Fatalf("checkpoint: %v\n%s", err, msg)
	}
	cosigned := false
	for _, s := range n.Sigs {
		cosigned = cosigned || (s.Name == witV.Name() && s.Hash == witV.KeyHash())
	}
	if !cosigned {
		o.t.Fatalf("checkpoint carries no cosignature of the witness:\n%s", msg)
	}
	p := published{size: cp.Size, root: cp.Hash, note: msg}
	for start := uint64(0); start < cp.Size; start += 256 {
		path := "/ledger/tile/entries/" + tileIndex(start/256)
		if w := min(cp.Size-start, 256); w < 256 {
			path += fmt.Sprintf(".p/%d", w)
		}
		resp, bundle := o.get(path)
		want := "public, max-age=31536000, immutable"
		if cp.Size-start < 256 {
			want = "public, max-age=60"
		}
		if cc := resp.Header.Get("Cache-Control"); cc != want {
			o.t.Errorf("%s: Cache-Control %q, want %q", path, cc, want)
		}
		for len(bundle) > 0 {
			l := int(binary.BigEndian.Uint16(bundle))
			p.leaves = append(p.leaves, bundle[2:2+l])
			bundle = bundle[2+l:]
		}
	}
	if uint64(len(p.leaves)) != cp.Size {
		o.t.Fatalf("tiles hold %d leaves, checkpoint %d", len(p.leaves), cp.Size)
	}
	if got := rangeRoot(o.t, p.leaves, 0, cp.Size); !bytes.Equal(got, cp.Hash) {
		o.t.Fatalf("root rebuilt from the tiles %x, checkpoint %x", got, cp.Hash)
	}
	return p
}

var hasher = rfc6962.DefaultHasher

// rangeRoot is the root of leaves [begin, end) by merkle/compact (begin 0:
// any size; otherwise a perfect subtree).
func rangeRoot(t *testing.T, leaves [][]byte, begin, end uint64) []byte {
	t.Helper()
	rf := compact.RangeFactory{Hash: hasher.HashChildren}
	r := rf.NewEmptyRange(begin)
	for _, l := range leaves[begin:end] {
		if err := r.Append(hasher.HashLeaf(l), nil); err != nil {
			t.Fatal(err)
		}
	}
	if begin > 0 { // a proof node: a perfect subtree, one hash
		if h := r.Hashes(); len(h) == 1 {
			return h[0]
		}
		t.Fatalf("[%d, %d) is not a perfect subtree", begin, end)
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// consistency proves with merkle/proof that the tree of size1 with root1
// is a prefix of the published tree, the proof's nodes computed from the
// published leaves.
func consistency(t *testing.T, p published, size1 uint64, root1 []byte) error {
	nodes, err := proof.Consistency(size1, p.size)
	if err != nil {
		return err
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		b, e := id.Coverage()
		hashes[i] = rangeRoot(t, p.leaves, b, e)
	}
	pr, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		return err
	}
	return proof.VerifyConsistency(hasher, size1, p.size, pr, root1, p.root)
}

// publish integrates what is pending and gets the checkpoint cosigned,
// until the published checkpoint covers every entry (the service's own
// integrator and publisher run meanwhile and may hold the lock).
func publish(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx := t.Context()
	var want int64
	if err := env.Pool.QueryRow(ctx, "SELECT count(*) FROM ledger_entries").Scan(&want); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := env.App.Ledger.Integrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.Publisher.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		if cp, err := env.App.Ledger.Published(ctx); err == nil && cp.Size >= want {
			return
		}
	}
	t.Fatalf("no cosigned checkpoint covers the %d entries within 30 s", want)
}

// sealAgreement takes a new case of person to a sealed agreement and
// returns the case id and the agreement's SHA-256.
func sealAgreement(t *testing.T, env *apptest.Env, tok string, person map[string]string) (int64, string) {
	t.Helper()
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": person, "summary": "开办小餐馆，" + person["name"] + "本人到场",
	}, nil).Must(t, 201)
	id := int64(r.JSON["id"].(float64))
	path := fmt.Sprintf("/api/v1/cases/%d", id)
	c := caseJSON(t, env, tok, id)
	c = env.Act(t, tok, id, version(c), "review", map[string]any{"result": "accept", "materials": allMaterials(c),
		"note": "申请人" + person["name"] + "，电话" + person["phone"] + "，材料齐全"}).Must(t, 200).JSON
	a := env.Do(t, tok, http.MethodPost, path+"/agreement", nil, nil).Must(t, 201)
	token := strings.TrimPrefix(a.JSON["signing_url"].(string), "/sign/")
	env.Do(t, tok, http.MethodPost, path+"/agreement/signatures", map[string]any{"image_png": signaturePNG(t, 3)}, nil).Must(t, 200)
	env.Do(t, "", http.MethodPost, "/api/v1/sign/"+token, map[string]any{"image_png": signaturePNG(t, 5), "id_last4": person["id_number"][14:]}, nil).Must(t, 200)
	c = caseJSON(t, env, tok, id)
	for _, d := range c["documents"].([]any) {
		if dm := d.(map[string]any); dm["kind"] == "agreement" {
			return id, dm["sha256"].(string)
		}
	}
	t.Fatalf("no agreement: %v", c["documents"])
	return 0, ""
}

// TestPublicLedgerCheckedFromOutside: an outsider with the URL and the
// published keys checks the cosigned checkpoint, rebuilds the tree from
// the tiles, proves consistency with a kept checkpoint and the inclusion
// of a sealed agreement — with transparency-dev's libraries — and finds no
// personal data in any published leaf. A rewritten entry makes
// `ledger verify --remote` fail naming its index, and the witness refuses
// to cosign a rewritten history.
func TestPublicLedgerCheckedFromOutside(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "p.town", "township_agent", "370323001")
	tok := env.Token(t, "p.town")
	person := apptest.Person(t, 4)
	id, sha := sealAgreement(t, env, tok, person)
	publish(t, env)
	out := outsider{t: t, base: env.Server.URL, logKey: env.App.Signer.VerifierKey(), witKey: env.App.Witness.VerifierKey()}
	first := out.fetch()

	t.Run("no personal data in the published leaves", func(t *testing.T) {
		for i, l := range first.leaves {
			for _, secret := range []string{person["name"], person["id_number"], person["phone"], person["id_number"][:4] + "**", "材料齐全"} {
				if bytes.Contains(l, []byte(secret)) {
					t.Fatalf("leaf %d holds %q: %s", i, secret, l)
				}
			}
		}
		tl, _ := json.Marshal(caseJSON(t, env, tok, id)["timeline"])
		if !strings.Contains(string(tl), "申请人"+person["name"]) {
			t.Fatalf("the staff timeline lost the readable note: %s", tl)
		}
		// The case's ledger for staff: published payload and readable one.
		cl := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d/ledger", id), nil, nil).Must(t, 200)
		var items struct {
			Items []struct {
				Payload  json.RawMessage `json:"payload"`
				Readable json.RawMessage `json:"readable"`
			} `json:"items"`
		}
		if err := json.Unmarshal(cl.Body, &items); err != nil {
			t.Fatal(err)
		}
		var readable, published bool
		for _, it := range items.Items {
			readable = readable || strings.Contains(string(it.Readable), "申请人"+person["name"])
			published = published || strings.Contains(string(it.Payload), ledger.CommitmentPrefix)
			if strings.Contains(string(it.Payload), person["name"]) {
				t.Fatalf("published payload with the name: %s", it.Payload)
			}
		}
		if !readable || !published {
			t.Fatalf("case ledger: readable %v, commitments %v: %s", readable, published, cl.Body)
		}
	})

	t.Run("inclusion of the sealed agreement", func(t *testing.T) {
		v := env.Do(t, "", http.MethodGet, "/api/v1/verify/"+sha, nil, nil).Must(t, 200).JSON
		cs, _ := v["cosigned"].(map[string]any)
		if cs == nil {
			t.Fatalf("verify answer has no cosigned proof: %v", v)
		}
		leaf, _ := base64.StdEncoding.DecodeString(v["leaf"].(string))
		idx := uint64(v["leaf_index"].(float64))
		if !bytes.Equal(leaf, first.leaves[idx]) || !bytes.Contains(leaf, []byte(sha)) {
			t.Fatalf("leaf %d of the verify answer is not the published one: %s", idx, leaf)
		}
		var pr [][]byte
		for _, h := range cs["inclusion"].([]any) {
			b, _ := base64.StdEncoding.DecodeString(h.(string))
			pr = append(pr, b)
		}
		if err := proof.VerifyInclusion(hasher, idx, uint64(cs["tree_size"].(float64)), hasher.HashLeaf(leaf), pr, first.root); err != nil {
			t.Fatalf("inclusion: %v", err)
		}
	})

	// More entries (a full tile), a new cosigned checkpoint, consistency.
	for i := 0; i < 300; i++ {
		if _, err := ledger.Append(t.Context(), env.Pool, ledger.Meta{Actor: "system:test", Type: "test.filler"}, map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, env)
	second := out.fetch()
	t.Run("consistency with the kept checkpoint", func(t *testing.T) {
		if err := consistency(t, second, first.size, first.root); err != nil {
			t.Fatalf("consistency %d → %d: %v", first.size, second.size, err)
		}
		if err := consistency(t, second, first.size, hasher.HashLeaf([]byte("forged"))); err == nil {
			t.Fatal("a wrong old root passed the consistency check")
		}
	})

	kept := filepath.Join(t.TempDir(), "checkpoint")
	if err := os.WriteFile(kept, first.note, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := ledger.RemoteOptions{URL: env.Server.URL, LogKey: out.logKey, WitnessKeys: []string{out.witKey}, Kept: kept, Document: sha}
	var report bytes.Buffer
	if err := ledger.VerifyRemote(t.Context(), opts, &report); err != nil {
		t.Fatalf("verify --remote: %v\n%s", err, report.String())
	}
	t.Logf("verify --remote:\n%s", report.String())

	t.Run("a rewritten entry is named", func(t *testing.T) {
		rewriteEntry(t, env, 5)
		err := ledger.VerifyRemote(t.Context(), opts, io.Discard)
		var ve *ledger.VerifyError
		if !errors.As(err, &ve) || ve.Index != 5 {
			t.Fatalf("verify --remote after rewriting entry 5: %v", err)
		}
		t.Logf("verify --remote: %v", err)
	})

	t.Run("the witness refuses a rewritten history", func(t *testing.T) {
		witnessRefusesRewrite(t, env, second)
	})
}

// rewriteEntry changes one published entry as a database owner could,
// behind the application's back.
func rewriteEntry(t *testing.T, env *apptest.Env, index int64) {
	t.Helper()
	ctx := context.Background()
	owner, err := migrations.OpenOwnerPool(ctx, env.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	for _, q := range []string{
		"ALTER TABLE ledger_entries DISABLE TRIGGER USER",
		fmt.Sprintf(`UPDATE ledger_entries SET actor = 'someone-else' WHERE id = (SELECT entry_id FROM ledger_leaves WHERE leaf_index = %d)`, index),
		"ALTER TABLE ledger_entries ENABLE TRIGGER USER",
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// witnessRefusesRewrite forges what an administrator holding the log key
// could: the published history with one leaf changed plus a new leaf,
// signed with the log's own key, with a consistency proof computed from the
// forged tree. The witness, which cosigned the real tree, refuses it.
func witnessRefusesRewrite(t *testing.T, env *apptest.Env, real published) {
	leaves := append([][]byte{}, real.leaves...)
	leaves[1] = append([]byte{}, leaves[1]...)
	leaves[1][len(leaves[1])-2] ^= 1
	leaves = append(leaves, []byte(`["daiban.ledger/v1","forged"]`))
	forged := published{size: uint64(len(leaves)), leaves: leaves}
	forged.root = rangeRoot(t, leaves, 0, forged.size)
	var root [32]byte
	copy(root[:], forged.root)
	signed, err := env.App.Signer.Sign(int64(forged.size), root)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := proof.Consistency(real.size, forged.size)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		b, e := id.Coverage()
		hashes[i] = rangeRoot(t, leaves, b, e)
	}
	pr, err := nodes.Rehash(hashes, hasher.HashChildren)
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	fmt.Fprintf(&body, "old %d\n", real.size)
	for _, h := range pr {
		body.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	body.WriteString("\n" + signed)
	srv := httptest.NewServer(env.App.Witness.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || bytes.Contains(b, []byte("— ")) {
		t.Fatalf("the witness cosigned a rewritten history: %d %s", resp.StatusCode, b)
	}
	t.Logf("witness: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	if env.App.Witness.Size() != real.size {
		t.Fatalf("the witness moved to %d", env.App.Witness.Size())
	}
}
