package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// capture returns what fn prints on standard output.
func capture(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	err = fn()
	os.Stdout = old
	w.Close()
	return <-done, err
}

func TestCalendarCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", apptest.NewDatabase(t))
	t.Setenv("DAIBAN_DATA", t.TempDir())
	ctx := context.Background()
	var y26 []string
	for _, l := range strings.Split(string(calendar.Default().CSV()), "\n") {
		if strings.HasPrefix(l, "2026-") {
			y26 = append(y26, l)
		}
	}
	dir := t.TempDir()
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("date,kind,name\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.csv", append(y26, y26[3])...)
	_, err := capture(t, func() error { return run(ctx, []string{"calendar", "import", bad}) })
	if err == nil || !strings.Contains(message(err), "未做任何更改") || !strings.Contains(message(err), "重复") {
		t.Fatalf("bad file: %v", err)
	}
	good := write("good.csv", append(y26, "2026-03-02,off,测试调整")...)
	out, err := capture(t, func() error { return run(ctx, []string{"calendar", "import", "--dry-run", good}) })
	if err != nil || !strings.Contains(out, "检查通过") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	out, err = capture(t, func() error { return run(ctx, []string{"calendar", "import", good}) })
	if err != nil || !strings.Contains(out, "已导入 2026 年") || !strings.Contains(out, "版本 2") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = capture(t, func() error { return run(ctx, []string{"calendar", "show", "--year", "2026"}) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"版本 2", "2026-02-14  星期六  调休上班  春节", "2026-03-02  星期一  放假", "测试调整", "247 天"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if _, err := capture(t, func() error { return run(ctx, []string{"calendar", "show", "--year", "2031"}) }); err == nil {
		t.Error("a year not loaded shows without complaint")
	}
}
