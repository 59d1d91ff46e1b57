package pii_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/policies/pii"
)

func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k, err := pii.New(map[uint32][]byte{1: secret(1)})
	if err != nil {
		t.Fatal(err)
	}
	const id = "37032319850312201X"
	a := k.SealString(pii.CaseIDNumber, "370323-20260101-0001", id)
	b := k.SealString(pii.CaseIDNumber, "370323-20260101-0001", id)
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if bytes.Contains(a, []byte(id)) || bytes.Contains(a, []byte(id[10:])) {
		t.Error("the sealed value holds the number")
	}
	if v, ok := pii.VersionOf(a); !ok || v != 1 {
		t.Errorf("version %d, want 1", v)
	}
	if got, err := k.OpenString(pii.CaseIDNumber, "370323-20260101-0001", a); err != nil || got != id {
		t.Fatalf("open: %q %v", got, err)
	}
	for name, open := range map[string]func() error{
		"another row":   func() error { _, err := k.Open(pii.CaseIDNumber, "370323-20260101-0002", a); return err },
		"another field": func() error { _, err := k.Open(pii.CasePhone, "370323-20260101-0001", a); return err },
		"a flipped byte": func() error {
			c := bytes.Clone(a)
			c[len(c)-1] ^= 1
			_, err := k.Open(pii.CaseIDNumber, "370323-20260101-0001", c)
			return err
		},
		"truncated": func() error { _, err := k.Open(pii.CaseIDNumber, "370323-20260101-0001", a[:10]); return err },
	} {
		if err := open(); !errors.Is(err, pii.ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
}

func TestIndex(t *testing.T) {
	t.Parallel()
	k, _ := pii.New(map[uint32][]byte{1: secret(1)})
	other, _ := pii.New(map[uint32][]byte{1: secret(2)})
	same := [][2]string{
		{"37032319850312201x", " 37032319850312201X "},
		{"0533-3241234", "05333241234"},
		{"138 0533 1201", "13805331201"},
	}
	for _, p := range same {
		if !bytes.Equal(k.Index(pii.CasePhone, p[0]), k.Index(pii.CasePhone, p[1])) {
			t.Errorf("%q and %q index differently", p[0], p[1])
		}
	}
	if bytes.Equal(k.Index(pii.CasePhone, "13805331201"), k.Index(pii.CasePhone, "13805331202")) {
		t.Error("two phones index alike")
	}
	if bytes.Equal(k.Index(pii.CasePhone, "13805331201"), k.Index(pii.CaseIDNumber, "13805331201")) {
		t.Error("one value indexes alike in two fields")
	}
	if bytes.Equal(k.Index(pii.CasePhone, "13805331201"), other.Index(pii.CasePhone, "13805331201")) {
		t.Error("the index does not depend on the key")
	}
}

// TestKeyFile creates the key, rotates it under a running reader and
// retires the old version.
func TestKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := pii.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pii.KeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi.Mode(), err)
	}
	again, err := pii.LoadOrCreate(dir)
	if err != nil || again.Current() != 1 {
		t.Fatalf("second start: %v, version %d", err, again.Current())
	}
	old := k.SealString(pii.CasePhone, "n1", "13805331201")
	oldIdx := k.Index(pii.CasePhone, "13805331201")

	v, err := pii.Rotate(dir)
	if err != nil || v != 2 {
		t.Fatalf("rotate: %d %v", v, err)
	}
	// A running reader opens a value sealed under the new version at once
	// (unknown version: it rereads the file) and seals under it within a
	// second.
	fresh, err := pii.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	nv := fresh.SealString(pii.CasePhone, "n2", "13805331202")
	if got, err := k.OpenString(pii.CasePhone, "n2", nv); err != nil || got != "13805331202" {
		t.Fatalf("running reader, new version: %q %v", got, err)
	}
	if got, err := fresh.OpenString(pii.CasePhone, "n1", old); err != nil || got != "13805331201" {
		t.Fatalf("old version after rotation: %q %v", got, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for k.Current() != 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if k.Current() != 2 {
		t.Fatal("running reader still seals under version 1")
	}
	idx := fresh.Indexes(pii.CasePhone, "13805331201")
	if len(idx) != 2 || !bytes.Equal(idx[1], oldIdx) || bytes.Equal(idx[0], oldIdx) {
		t.Errorf("indexes during rotation: %d, want the new one first and the old one", len(idx))
	}

	gone, err := pii.Retire(dir)
	if err != nil || len(gone) != 1 || gone[0] != 1 {
		t.Fatalf("retire: %v %v", gone, err)
	}
	retired, err := pii.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retired.Open(pii.CasePhone, "n1", old); !errors.Is(err, pii.ErrOpen) {
		t.Errorf("retired version still opens: %v", err)
	}
	b, _ := os.ReadFile(path)
	if strings.Count(string(b), "\n2 ") != 1 || strings.Contains(string(b), "\n1 ") {
		t.Errorf("key file after retiring:\n%s", b)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.Load(dir); err == nil || !strings.Contains(err.Error(), "0600") {
		t.Errorf("a world-readable key file loads: %v", err)
	}
}

func BenchmarkOpen(b *testing.B) {
	k, _ := pii.New(map[uint32][]byte{1: secret(1)})
	s := k.SealString(pii.CaseIDNumber, "370323-20260101-0001", "37032319850312201X")
	for b.Loop() {
		if _, err := k.OpenString(pii.CaseIDNumber, "370323-20260101-0001", s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealAndIndex(b *testing.B) {
	k, _ := pii.New(map[uint32][]byte{1: secret(1)})
	for b.Loop() {
		k.SealString(pii.CasePhone, "370323-20260101-0001", "13805331201")
		k.Index(pii.CasePhone, "13805331201")
	}
}
