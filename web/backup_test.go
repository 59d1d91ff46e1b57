package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestDashboardWarnsWithoutBackup: on a database without backups (the
// tests' own, like the embedded default) the supervisor's dashboard shows
// the backup card in red, saying why.
func TestDashboardWarnsWithoutBackup(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "bk.super", "supervisor", "370323")
	c := client(t)
	html := map[string]string{"Accept": "text/html"}
	signIn(t, c, env.Server.URL, url.Values{"username": {"bk.super"}, "password": {apptest.Password}}, html)
	a := send(t, c, http.MethodGet, env.Server.URL+"/supervision", nil, html)
	if a.status != http.StatusOK {
		t.Fatalf("/supervision: %d", a.status)
	}
	card := between(a.body, `id="backup"`, `</section>`)
	for _, want := range []string{"数据库备份", `id="backup-warning"`, "备份需要立即处理", "未配置数据库备份", "daiban backup check"} {
		if !strings.Contains(card, want) {
			t.Errorf("backup card lacks %q:\n%s", want, card)
		}
	}
	if !strings.Contains(a.body, `<section class="card noprint danger" id="backup">`) {
		t.Error("the backup card is not red (class danger)")
	}
}
