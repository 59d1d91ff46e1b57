package ledger_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/daiban/daiban/ledger"
)

// memTree is an in-memory log for driving a witness.
type memTree struct{ hashes []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func treeOf(t *testing.T, leaves []string) *memTree {
	m := &memTree{}
	for i, l := range leaves {
		h, err := tlog.StoredHashes(int64(i), []byte(l), m)
		if err != nil {
			t.Fatal(err)
		}
		m.hashes = append(m.hashes, h...)
	}
	return m
}

// addCheckpoint posts a C2SP tlog-witness request for the first size
// leaves, signed by s, with a consistency proof from old.
func addCheckpoint(t *testing.T, url string, s *ledger.Signer, leaves []string, size, old int64) (int, string) {
	t.Helper()
	m := treeOf(t, leaves[:size])
	root, err := tlog.TreeHash(size, m)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(size, root)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", old)
	if old > 0 && old < size {
		proof, err := tlog.ProveTree(size, old, m)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range proof {
			body.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
		}
	}
	body.WriteString("\n" + signed)
	resp, err := http.Post(url+"/add-checkpoint", "text/plain", &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWitnessCosignsOnlyAConsistentHistory drives the witness through the
// C2SP tlog-witness protocol: it cosigns a first checkpoint, answers 409
// with its size to a request from a wrong old size, cosigns an extension
// proved consistent, remembers its tree across a restart, and refuses a
// rewritten history re-signed with the log's own key and a checkpoint
// signed by another key.
func TestWitnessCosignsOnlyAConsistentHistory(t *testing.T) {
	t.Parallel()
	skey, _, err := note.GenerateKey(rand.Reader, "daiban.370323")
	if err != nil {
		t.Fatal(err)
	}
	log, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	wkey, _, err := note.GenerateKey(rand.Reader, "witness.test")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "witness.state")
	w, err := ledger.NewWitness(wkey, log.VerifierKey(), state)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	leaves := []string{"a", "b", "c", "d", "e", "f"}

	if st, body := addCheckpoint(t, srv.URL, log, leaves, 3, 0); st != 200 || !strings.HasPrefix(body, "— witness.test ") {
		t.Fatalf("first checkpoint: %d %q", st, body)
	}
	if st, body := addCheckpoint(t, srv.URL, log, leaves, 5, 0); st != 409 || strings.TrimSpace(body) != "3" {
		t.Fatalf("wrong old size: %d %q", st, body)
	}
	if st, body := addCheckpoint(t, srv.URL, log, leaves, 5, 3); st != 200 {
		t.Fatalf("consistent extension: %d %q", st, body)
	}
	w2, err := ledger.NewWitness(wkey, log.VerifierKey(), state)
	if err != nil || w2.Size() != 5 {
		t.Fatalf("restarted witness: size %d, %v", w2.Size(), err)
	}
	forged := append([]string{}, leaves...)
	forged[1] = "B"
	if st, body := addCheckpoint(t, srv.URL, log, forged, 6, 5); st != http.StatusUnprocessableEntity {
		t.Fatalf("rewritten history: %d %q", st, body)
	}
	other, _, _ := note.GenerateKey(rand.Reader, "daiban.370323")
	os, _ := ledger.NewSigner(other)
	if st, body := addCheckpoint(t, srv.URL, os, leaves, 6, 5); st != http.StatusForbidden {
		t.Fatalf("another log key: %d %q", st, body)
	}
	if w.Size() != 5 {
		t.Fatalf("the witness moved to %d", w.Size())
	}
}
