package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// TestBrowserVerifyLocalFile: on /verify a visitor chooses a sealed PDF;
// the page hashes it in the browser and shows the seal's verdict. The file
// never leaves the machine: no request carries a body, and the only API
// call names the file's SHA-256. A changed file is not found.
func TestBrowserVerifyLocalFile(t *testing.T) {
	browser := startBrowser(t)
	env := apptest.New(t)
	env.User(t, "vf.town", "township_agent", "370323001")
	tok := env.Token(t, "vf.town")
	r := env.Do(t, tok, http.MethodPost, "/api/v1/cases", map[string]any{
		"region": "370323001002", "channel": "counter", "matter": "SP001", "applicant": apptest.Person(t, 3), "summary": "开办小餐馆",
	}, nil).Must(t, 201)
	n := env.Do(t, tok, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/notice", int64(r.JSON["id"].(float64))), nil, nil).Must(t, 201)
	doc := env.Do(t, tok, http.MethodGet, fmt.Sprintf("/api/v1/documents/%d", int64(n.JSON["document_id"].(float64))), nil, nil).Must(t, 200).Body
	sum := sha256.Sum256(doc)
	dir := t.TempDir()
	good := filepath.Join(dir, "一次告知单.pdf")
	os.WriteFile(good, doc, 0o600)
	changed := append([]byte(nil), doc...)
	changed[len(changed)/2] ^= 1
	bad := filepath.Join(dir, "改过的.pdf")
	os.WriteFile(bad, changed, 0o600)

	visitor := newTab(t, browser, env, "visitor", phone, artifacts(t))
	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(visitor.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, fmt.Sprintf("%s %s body=%v", e.Request.Method, e.Request.URL, e.Request.HasPostData))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	visitor.open("/verify")
	visitor.sees("#verify-file-box", "不会上传")
	mu.Lock()
	requests = nil
	mu.Unlock()
	visitor.run("choose the sealed file", chromedp.SetUploadFiles(chromedp.CSS("#verify-file"), []string{good}))
	visitor.waitVisible(`#verify-file-result[data-verdict="valid"]`)
	visitor.sees("#verify-file-result", "电子签章有效", "一次告知单")
	visitor.sees("#verify-file-sum", hex.EncodeToString(sum[:]))
	visitor.shot("verify-file-valid")
	visitor.noSideScroll() // the 64-digit hash wraps on a phone
	mu.Lock()
	for _, rq := range requests {
		if strings.Contains(rq, "body=true") || !strings.HasPrefix(rq, "GET ") {
			t.Errorf("the page sent a body: %s", rq)
		}
	}
	if len(requests) != 1 || !strings.Contains(requests[0], "/api/v1/verify/"+hex.EncodeToString(sum[:])) {
		t.Errorf("requests after choosing the file: %v", requests)
	}
	mu.Unlock()

	visitor.run("choose a changed file", chromedp.SetUploadFiles(chromedp.CSS("#verify-file"), []string{bad}))
	visitor.waitVisible(`#verify-file-result[data-verdict="unknown"]`)
	visitor.sees("#verify-file-result", "未找到该文书")
	visitor.shot("verify-file-changed")
	visitor.consoleErrors(t)
}
