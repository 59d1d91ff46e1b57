package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestIntakeReceipt: the intake receipt (受理回执) of a case is a page to
// print and the same as a PDF, for every user who may read the case. It
// names the case, the matter, the materials received, the promised limit
// (with the due date once the clock runs) and the tracking code, shows the
// ID number masked, and says it is no proof of completion; the PDF is
// never cached. A user outside the case's region finds neither.
func TestIntakeReceipt(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "h.town", "township_agent", "370323001")
	env.User(t, "h.other", "township_agent", "370323101")
	env.User(t, "h.super", "supervisor", "370323001")
	tok := env.Token(t, "h.town")
	fresh, _ := env.CreateCase(t, tok, "370323001", "GT001")
	delegated := env.Delegate(t, "h.town", "370323001", "GT001")
	// A due date in a year the holiday calendar does not cover yet.
	provisional := env.Delegate(t, "h.town", "370323001", "GT001")
	if _, err := env.Pool.Exec(context.Background(), "UPDATE cases SET due_date = '2099-01-05' WHERE id = $1", provisional); err != nil {
		t.Fatal(err)
	}
	html := map[string]string{"Accept": "text/html"}
	login := func(user string) *http.Client {
		c := client(t)
		if a := signIn(t, c, env.Server.URL, url.Values{"username": {user}, "password": {apptest.Password}}, html); a.status != http.StatusSeeOther {
			t.Fatalf("%s signs in: %d", user, a.status)
		}
		return c
	}
	town, super, other := login("h.town"), login("h.super"), login("h.other")

	t.Run("registered at the counter", func(t *testing.T) {
		// Right after the counter registers a case, its page offers the
		// receipt to print.
		form := send(t, town, http.MethodGet, env.Server.URL+"/intake", nil, html)
		ap := apptest.Person(t, 2)
		a := send(t, town, http.MethodPost, env.Server.URL+"/intake", url.Values{
			"csrf_token": {between(form.body, `name="csrf_token" value="`, `"`)}, "idem": {between(form.body, `name="idem" value="`, `"`)},
			"matter": {"GT001"}, "region": {"370323001"}, "channel": {"counter"},
			"kind": {ap["kind"]}, "name": {ap["name"]}, "id_number": {ap["id_number"]}, "phone": {ap["phone"]},
		}, html)
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/cases/") {
			t.Fatalf("intake: %d → %q %s", a.status, a.location, between(a.body, "<main", "</main>"))
		}
		page := send(t, town, http.MethodGet, env.Server.URL+a.location, nil, html)
		if !strings.Contains(between(page.body, `id="flash"`, "</div>"), `href="`+a.location+`/receipt"`) {
			t.Errorf("the message after registering has no link to the receipt:\n%s", between(page.body, "<main", "</main>"))
		}
	})

	for _, tc := range []struct {
		name string
		id   int64
		says []string // on the page and in the PDF
	}{
		{"fresh case", fresh, []string{"尚未收取材料", "签订代办委托协议的次日起"}},
		{"delegated case", delegated, []string{"原件", "应于"}},
		{"provisional due date", provisional, []string{"应于 2099年1月5日 前办结（暂定"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := env.Do(t, tok, http.MethodGet, "/api/v1/cases/"+itoa(tc.id), nil, nil).Must(t, http.StatusOK).JSON
			number, code, title := cs["number"].(string), cs["tracking_code"].(string), cs["title"].(string)
			idNumber := cs["applicant"].(map[string]any)["id_number"].(string)
			want := append([]string{number, code, title, "受理回执", "本回执为受理凭证，不作为办结依据", "沂源县"}, tc.says...)
			if due, _ := cs["due_date"].(string); due != "" {
				want = append(want, due[:4]+"年")
			}

			casePage := send(t, town, http.MethodGet, env.Server.URL+"/cases/"+itoa(tc.id), nil, html)
			if !strings.Contains(casePage.body, `href="/cases/`+itoa(tc.id)+`/receipt"`) {
				t.Error("the case page has no link to the receipt")
			}
			for _, cl := range []*http.Client{town, super} {
				page := send(t, cl, http.MethodGet, env.Server.URL+"/cases/"+itoa(tc.id)+"/receipt", nil, html)
				if page.status != http.StatusOK {
					t.Fatalf("receipt page: %d %s", page.status, page.body)
				}
				main := between(page.body, "<main", "</main>")
				for _, w := range want {
					if !strings.Contains(main, w) {
						t.Errorf("receipt page lacks %q", w)
					}
				}
				if strings.Contains(main, idNumber) {
					t.Error("receipt page shows the ID number in full")
				}
			}

			doc := send(t, town, http.MethodGet, env.Server.URL+"/cases/"+itoa(tc.id)+"/receipt.pdf", nil, nil)
			if doc.status != http.StatusOK || doc.header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("receipt PDF: %d %q", doc.status, doc.header.Get("Content-Type"))
			}
			if cc := doc.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("receipt PDF Cache-Control %q, want no-store", cc)
			}
			text := receiptText(t, []byte(doc.body))
			for _, w := range want {
				if !strings.Contains(text, strings.Join(strings.Fields(w), "")) {
					t.Errorf("receipt PDF lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, idNumber) {
				t.Error("receipt PDF shows the ID number in full")
			}

			for _, path := range []string{"/receipt", "/receipt.pdf"} {
				if a := send(t, other, http.MethodGet, env.Server.URL+"/cases/"+itoa(tc.id)+path, nil, html); a.status != http.StatusNotFound {
					t.Errorf("out-of-region %s: %d, want 404", path, a.status)
				}
			}
		})
	}
}

// receiptText is a PDF's text with all white space removed.
func receiptText(t *testing.T, pdf []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "receipt.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", f, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	return strings.Join(strings.Fields(string(out)), "")
}
