package web_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// The browser tests drive Debian's Chromium (headless) through chromedp
// against the whole service (apptest), and save a screenshot of every
// step into DAIBAN_ARTIFACTS (or a temporary directory, printed).

// chromiumHint is what to do when the browser is missing.
const chromiumHint = "浏览器测试需要 Chromium 和中文字体：apt-get install -y chromium fonts-lxgw-wenkai"

// startBrowser starts a headless Chromium for one test, with a fresh
// profile, and returns its context; the browser ends with the test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal(chromiumHint)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	// The whole test's budget: the browser ends at the latest then.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	alloc, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	browser, bcancel := chromedp.NewContext(alloc)
	t.Cleanup(bcancel)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v\n%s", path, err, chromiumHint)
	}
	return browser
}

var (
	artifactsOnce sync.Once
	artifactsDir  string
)

// artifacts returns the directory for a test's screenshots.
func artifacts(t *testing.T) string {
	t.Helper()
	artifactsOnce.Do(func() {
		artifactsDir = os.Getenv("DAIBAN_ARTIFACTS")
		if artifactsDir == "" {
			d, err := os.MkdirTemp("", "daiban-screenshots-")
			if err != nil {
				t.Fatal(err)
			}
			artifactsDir = d
		}
	})
	dir := filepath.Join(artifactsDir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", dir)
	fmt.Fprintf(os.Stderr, "%s: screenshots in %s\n", t.Name(), dir)
	return dir
}

// tab is one person's browser: its own cookies (a browser context of its
// own), its own screen size.
type tab struct {
	t     *testing.T
	name  string
	ctx   context.Context
	base  string
	shots string
	n     int

	mu      sync.Mutex
	console []string        // errors the pages wrote to the console, not yet reported
	pages   map[string]bool // the URLs loaded as pages (documents)
}

type screen struct {
	w, h  int64
	touch bool
}

var (
	desktop = screen{1366, 900, false}
	tablet  = screen{1280, 800, true} // a 10-inch tablet, landscape
	phone   = screen{360, 740, true}
)

func newTab(t *testing.T, browser context.Context, env *apptest.Env, name string, s screen, shots string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	opts := []chromedp.EmulateViewportOption{}
	if s.touch {
		opts = append(opts, chromedp.EmulateTouch)
	}
	if s.w < 600 {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(2))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.w, s.h, opts...)); err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, name: name, ctx: ctx, base: env.Server.URL, shots: shots}
	if err := chromedp.Listen(ctx, b.heard); err != nil {
		t.Fatal(err)
	}
	return b
}

// heard keeps the console's errors: a script's console.error, an uncaught
// exception, and the browser's own error entries (a resource that failed
// to load, such as a missing favicon). A page answered with an error
// status (a refused form is a 422 with the form) is what the user sees
// and the test asserts; a failed request to the API or to a copy link is
// the page's business (the signing script shows a refusal in words, a
// test fetches a spent link on purpose): neither is an error of the page.
// It runs on the tab's event loop, so it only records.
func (b *tab) heard(ev any) {
	var msg string
	switch e := ev.(type) {
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeDocument {
			b.mu.Lock()
			if b.pages == nil {
				b.pages = map[string]bool{}
			}
			b.pages[e.Response.URL] = true
			b.mu.Unlock()
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg = "exception: " + d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		en := e.Entry
		if en.Level != cdplog.EntryLevelError {
			return
		}
		// The village outbox asks /village/session.json who is signed in
		// and shows a refusal (session ended) as 需处理 itself.
		if u, err := url.Parse(en.URL); err == nil && (strings.HasPrefix(u.Path, "/api/") || strings.HasPrefix(u.Path, "/copy/") || u.Path == "/village/session.json") {
			return
		}
		b.mu.Lock()
		page := b.pages[en.URL]
		b.mu.Unlock()
		if page && en.Source == cdplog.EntrySourceNetwork {
			return
		}
		msg = string(en.Source) + ": " + en.Text + " " + en.URL
	}
	if msg == "" {
		return
	}
	b.mu.Lock()
	b.console = append(b.console, msg)
	b.mu.Unlock()
}

// consoleErrors reports (as test errors) what the pages wrote to the
// console since the last call.
func (b *tab) consoleErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	heard := b.console
	b.console = nil
	b.mu.Unlock()
	for _, m := range heard {
		t.Errorf("%s: console error: %s", b.name, m)
	}
}

// scenario runs the steps of one browser test in order, each a sub-test,
// so a failure names its step. While a step runs the tabs report to it: a
// tab failing the parent test from inside a sub-test would not stop the
// step. Tabs are opened on the parent test, as they live for the whole
// scenario.
type scenario struct {
	t    *testing.T
	tabs []*tab
}

func newScenario(t *testing.T, tabs ...*tab) *scenario {
	return &scenario{t: t, tabs: tabs}
}

// with adds tabs opened after the scenario started.
func (s *scenario) with(tabs ...*tab) { s.tabs = append(s.tabs, tabs...) }

// step runs f as the sub-test name, the tabs reporting to it. It returns
// false when the step stopped short (t.Fatal, or a tab's action failed):
// the next step starts from the pages this one left, so the caller ends
// the scenario. A step that only reported errors (t.Error) lets the
// scenario go on, as before the steps were sub-tests.
func (s *scenario) step(name string, f func(t *testing.T)) bool {
	s.t.Helper()
	completed := false
	s.t.Run(name, func(t *testing.T) {
		for _, b := range s.tabs {
			b.t = t
		}
		defer func() {
			for _, b := range s.tabs {
				b.t = s.t
			}
		}()
		f(t)
		completed = true
		for _, b := range s.tabs {
			b.consoleErrors(t)
		}
	})
	return completed
}

// run runs actions with a time limit, failing the test (with a
// screenshot) when one fails.
func (b *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// open loads a path of the service.
func (b *tab) open(path string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.base+path))
}

// submit clicks a button that sends a form and waits for the page that
// answers; it returns that page's HTTP status.
func (b *tab) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: submit %s: %v", b.name, sel, err)
	}
	if resp == nil {
		b.t.Fatalf("%s: submit %s: no page", b.name, sel)
	}
	return resp.Status
}

// follow clicks a link and waits for the page it opens.
func (b *tab) follow(sel string) {
	b.t.Helper()
	if st := b.submit(sel); st != 200 {
		b.t.Fatalf("%s: following %s answered %d", b.name, sel, st)
	}
}

// text returns the visible text of the first element matching sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// sees checks that the element's text contains every want, giving the
// page a few seconds (a script's answer may still be on its way).
func (b *tab) sees(sel string, want ...string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := b.text(sel)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed")
			b.t.Fatalf("%s: %s shows %q, want it to contain %q", b.name, sel, got, missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eval evaluates JavaScript (awaiting a promise) and returns its value.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: evaluating %s: %v", b.name, js, err)
	}
	return v
}

// location is the path (and query) of the current page.
func (b *tab) location() string {
	b.t.Helper()
	loc := eval[string](b, "location.pathname + location.search")
	return loc
}

// fill types into a field after clearing it.
func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.run("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, sel)),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// set sets a field's value directly (selects, dates, numbers).
func (b *tab) set(sel, value string) {
	b.t.Helper()
	b.run("set "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
}

func (b *tab) click(sel string) {
	b.t.Helper()
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// shot saves a full-page screenshot named after the step.
func (b *tab) shot(step string) {
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("%s: screenshot %s: %v", b.name, step, err)
		return
	}
	file := filepath.Join(b.shots, fmt.Sprintf("%s-%02d-%s.png", b.name, b.n, step))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Logf("writing %s: %v", file, err)
	}
}

// printed shows the page as printed (print media), saves a screenshot
// and returns the CSS display of each selector there.
func (b *tab) printed(step string, sels ...string) []string {
	b.t.Helper()
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	b.run("print media", media("print"))
	defer b.run("screen media", media(""))
	b.shot(step)
	var out []string
	for _, sel := range sels {
		out = append(out, eval[string](b, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).display`, sel)))
	}
	return out
}

// login signs in through the form and returns where it lands.
func (b *tab) login(username string) string {
	b.t.Helper()
	b.open("/login")
	b.fill("#login-username", username)
	b.fill("#login-password", apptest.Password)
	if st := b.submit("#login-submit"); st != 200 {
		b.t.Fatalf("%s: sign-in answered %d", b.name, st)
	}
	return b.location()
}

// tickAll ticks every checkbox inside sel that is not ticked yet, one
// click each.
// signingLink submits the button sel that makes a signing link (drafting
// the agreement, verifying the handover) and returns the link's path from
// the card the page then shows.
func (b *tab) signingLink(t *testing.T, sel string) string {
	t.Helper()
	b.submit(sel)
	b.sees(".signlink", "请申请人在平板上签署")
	return pathOf(t, eval[string](b, `document.getElementById("signing-link").href`))
}

func (b *tab) tickAll(sel string) {
	b.t.Helper()
	unticked := sel + " input[type=checkbox]:not(:checked)"
	n := eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, unticked))
	for i := 0; i < n; i++ {
		b.click(unticked)
	}
}

// waitVisible waits until the element shows (after a script's work).
func (b *tab) waitVisible(sel string) {
	b.t.Helper()
	b.run("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// rect is an element's box in the viewport.
type rect struct{ X, Y, W, H float64 }

func (b *tab) rect(sel string) rect {
	b.t.Helper()
	b.run("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	return eval[rect](b, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, sel))
}

// signature returns the points of a handwritten-looking name across a box:
// three strokes of waves and loops.
func signature(r rect) [][][2]float64 {
	var strokes [][][2]float64
	for s := 0; s < 3; s++ {
		var pts [][2]float64
		x0 := r.X + r.W*(0.12+0.26*float64(s))
		for i := 0; i <= 24; i++ {
			f := float64(i) / 24
			x := x0 + r.W*0.2*f + 12*math.Sin(f*math.Pi*4)
			y := r.Y + r.H*(0.5+0.25*math.Sin(f*math.Pi*3+float64(s)))
			pts = append(pts, [2]float64{x, y})
		}
		strokes = append(strokes, pts)
	}
	return strokes
}

// drawByMouse signs on the pad with the mouse: press, drag, release.
func (b *tab) drawByMouse(sel string) {
	b.t.Helper()
	strokes := signature(b.rect(sel))
	b.run("draw with the mouse", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, pts := range strokes {
			for i, p := range pts {
				typ := input.DispatchMouseEventTypeMouseMoved
				switch i {
				case 0:
					typ = input.DispatchMouseEventTypeMousePressed
				case len(pts) - 1:
					typ = input.DispatchMouseEventTypeMouseReleased
				}
				ev := input.DispatchMouseEventParams{Type: typ, X: p[0], Y: p[1], Button: input.MouseButtonLeft, Buttons: 1, ClickCount: 1}
				if typ == input.DispatchMouseEventTypeMouseReleased {
					ev.Buttons = 0
				}
				if _, err := cdp.Call(ctx, t, input.DispatchMouseEvent, ev); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// drawByFinger signs on the pad with touches, as a finger on the tablet.
func (b *tab) drawByFinger(sel string) {
	b.t.Helper()
	strokes := signature(b.rect(sel))
	one, radius := 1.0, 4.0
	b.run("draw with a finger", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, pts := range strokes {
			for i, p := range pts {
				ev := input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchMove,
					TouchPoints: []*input.TouchPoint{{X: p[0], Y: p[1], ID: &one, RadiusX: &radius, RadiusY: &radius}}}
				if i == 0 {
					ev.Type = input.DispatchTouchEventTypeTouchStart
				}
				if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, ev); err != nil {
					return err
				}
			}
			end := input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}}
			if _, err := cdp.Call(ctx, t, input.DispatchTouchEvent, end); err != nil {
				return err
			}
		}
		return nil
	}))
}

// inked counts the pad's painted pixels.
func (b *tab) inked(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf(`(() => { const c = document.querySelector(%q); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`, sel))
}

// fetchStatus fetches a link of the page with the page's cookies and
// returns "status content-type".
func (b *tab) fetchStatus(href string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`fetch(%q).then(r => r.status + " " + r.headers.get("content-type"))`, href))
}

// noSideScroll checks that the page fits the screen's width.
func (b *tab) noSideScroll() {
	b.t.Helper()
	w := eval[[]float64](b, `[document.documentElement.scrollWidth, window.innerWidth]`)
	if w[0] > w[1]+1 {
		b.shot("too-wide")
		b.t.Errorf("%s: %s is %.0f px wide on a %.0f px screen", b.name, b.location(), w[0], w[1])
	}
}

var caseURL = regexp.MustCompile(`^/cases/(\d+)`)

// caseIDOf returns the case id of the current case page.
func (b *tab) caseIDOf() string {
	b.t.Helper()
	m := caseURL.FindStringSubmatch(b.location())
	if m == nil {
		b.t.Fatalf("%s: not on a case page: %s", b.name, b.location())
	}
	return m[1]
}

func pathOf(t *testing.T, href string) string {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
