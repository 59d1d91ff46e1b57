package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/migrations"
)

// TestCatalogImportCommand: a CSV with one bad row changes nothing and
// names the row and field; a good one prints what changed, which the
// guide then shows.
func TestCatalogImportCommand(t *testing.T) {
	url := apptest.NewDatabase(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DAIBAN_DATA", t.TempDir())
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.csv", "code,office_hours,limit_days\nGT001,工作日 9:00-17:00,1\nSP001,工作日,三天\n")
	_, err := capture(t, func() error { return run(ctx, []string{"catalog", "import", bad}) })
	if err == nil || !strings.Contains(message(err), "未做任何更改") || !strings.Contains(message(err), "第3行") || !strings.Contains(message(err), "limit_days") {
		t.Fatalf("bad file: %v", err)
	}
	good := write("good.csv", "code,office_hours\nGT001,工作日 9:00-17:00\n")
	out, err := capture(t, func() error { return run(ctx, []string{"catalog", "import", "--actor", "admin", good}) })
	if err != nil || !strings.Contains(out, "修改事项 GT001：office_hours") {
		t.Fatalf("good file: %v %q", err, out)
	}
	pool, err := migrations.OpenOwnerPool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	g, err := catalog.NewStore(pool).Guide(ctx, "GT001")
	if err != nil || g.Matters[0].OfficeHours != "工作日 9:00-17:00" {
		t.Fatalf("after import: %v %+v", err, g.Matters)
	}
	sp, err := catalog.NewStore(pool).Guide(ctx, "SP001")
	if err != nil || sp.Matters[0].OfficeHours != "" {
		t.Errorf("the refused file changed SP001: %v %q", err, sp.Matters[0].OfficeHours)
	}
}
