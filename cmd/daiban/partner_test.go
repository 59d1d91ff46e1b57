package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/migrations"
)

// TestPartnerCommands: `daiban partner add` prints the key once (and only
// its hash and a sealed copy are stored), `list` shows the partner
// without its key, `revoke` ends it, and each change is a ledger entry.
func TestPartnerCommands(t *testing.T) {
	url := apptest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DAIBAN_DATA", t.TempDir())
	t.Setenv("DAIBAN_KEYS", t.TempDir())
	ctx := context.Background()
	dir := t.TempDir()
	out := swapFile(t, &os.Stdout, dir, "out", "")
	if err := run(ctx, []string{"partner", "add", "--name", "县 12345 热线", "--kind", "hotline", "--webhook", "https://12345.example.gov.cn/daiban"}); err != nil {
		t.Fatalf("partner add: %s", message(err))
	}
	err := run(ctx, []string{"partner", "add", "--name", "传真", "--kind", "fax"})
	if err == nil || !strings.Contains(message(err), "kind") {
		t.Fatalf("partner add with a bad kind: %v", err)
	}
	if err := run(ctx, []string{"partner", "list"}); err != nil {
		t.Fatalf("partner list: %s", message(err))
	}
	if err := run(ctx, []string{"partner", "revoke", "--name", "县 12345 热线"}); err != nil {
		t.Fatalf("partner revoke: %s", message(err))
	}
	if err := run(ctx, []string{"partner", "revoke", "--name", "县 12345 热线"}); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	b, _ := os.ReadFile(out)
	text := string(b)
	key := regexp.MustCompile(`dbk_[0-9a-f]{8}_[0-9a-f]{64}`).FindString(text)
	if key == "" || strings.Count(text, key) != 1 {
		t.Fatalf("the key is not printed exactly once:\n%s", text)
	}
	if !strings.Contains(text, "12345 热线") || !strings.Contains(text, key[4:12]) || !strings.Contains(text, "已吊销") {
		t.Fatalf("output:\n%s", text)
	}
	owner, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var leaked bool
	if err := owner.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM partners WHERE position(convert_to($1, 'UTF8') IN key_enc) > 0 OR position(convert_to($1, 'UTF8') IN key_hash) > 0)", key).Scan(&leaked); err != nil || leaked {
		t.Fatalf("the key is stored in clear (%v)", err)
	}
	// A PII key rotation re-seals the partner keys too: after the old
	// version is retired the key still opens.
	if err := run(ctx, []string{"keys", "rotate-pii", "--retire"}); err != nil {
		t.Fatalf("keys rotate-pii: %s", message(err))
	}
	keys, err := pii.Load(os.Getenv("DAIBAN_KEYS"))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := owner.QueryRow(ctx, "SELECT id FROM partners").Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, got, err := partners.NewStore(owner, keys, ledger.RecordAccount).Secret(ctx, owner, id); err != nil || string(got) != key {
		t.Fatalf("partner key after rotation: %v", err)
	}
	var entries int
	if err := owner.QueryRow(ctx, "SELECT count(*) FROM ledger_entries WHERE type IN ('partner.added', 'partner.revoked') AND actor LIKE 'cli:%'").Scan(&entries); err != nil || entries != 2 {
		t.Fatalf("%d ledger entries (%v)", entries, err)
	}
}
