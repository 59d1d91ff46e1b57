package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies/httpapi"
)

// The village pages are a small installable web app (DESIGN, "Village
// offline"): /village links a manifest and registers a service worker
// (static/village-sw.js, served as /village/sw.js so that its scope
// covers /village). The worker keeps three pages for use without signal —
// the agent's open errands, the new-errand form with the catalog and its
// materials, the hand-over form — and nothing else of a personal kind;
// what the agent submits goes into an outbox on the phone (IndexedDB,
// static/village.js) with an Idempotency-Key made there, and is sent to
// the API (POST /api/v1/cases, POST /api/v1/cases/{id}/custody) with the
// session cookie and a CSRF token fetched at sending time
// (/village/session.json), so an item queued before a fresh sign-in still
// goes out with a valid token.

// offlineHeader marks a village page the service worker may keep for use
// without signal: only the three pages above, and only when the page shows
// no one-time message (a flash shown again offline would mislead).
const offlineHeader = "X-Daiban-Offline"

type villageData struct {
	// User is the signed-in agent: the outbox sends only its own items.
	User string
	// Synced is when the list was read from the server; a copy shown
	// offline says so.
	Synced time.Time
	Open   []deskItem
	// Done lists the finished errands on /village/done (never kept
	// offline); on /village only their number shows.
	Done      []deskItem
	DoneCount int
	DonePage  bool
}

// village is the village agent's phone page: buttons for a new errand and
// for hand-overs of originals, the outbox (drawn by village.js) and the
// agent's open errands. Each errand opens the case page.
func (p *Pages) village(c echo.Context) error { return p.villageList(c, false) }

// villageDone lists the agent's finished errands; it is not kept on the
// phone, so it needs signal.
func (p *Pages) villageDone(c echo.Context) error { return p.villageList(c, true) }

func (p *Pages) villageList(c echo.Context, done bool) error {
	pr := httpapi.CurrentPrincipal(c)
	list, err := p.Cases.List(c.Request().Context(), cases.Filter{Scope: pr.Region, Username: pr.Username, OwnOnly: true, Limit: 100})
	if err != nil {
		return err
	}
	d := villageData{User: pr.Username, Synced: time.Now(), DonePage: done}
	for _, cs := range list {
		it := p.listItem(cs)
		if cs.State.Open() {
			d.Open = append(d.Open, it)
		} else {
			d.Done = append(d.Done, it)
		}
	}
	d.DoneCount = len(d.Done)
	v := view{Title: "我的代办", Data: d}
	if done {
		v.Title = "已结束的代办"
	} else {
		d.Done = nil
		v.Data = d
		offlinePage(c)
	}
	return p.Render(c, http.StatusOK, "village", v)
}

// offlinePage lets the service worker keep the page when it shows no
// one-time message. The worker's own fetch of
// a page to keep (X-Daiban-Keep) leaves the message for the page the agent
// opens.
func offlinePage(c echo.Context) {
	if r := c.Request(); r.Header.Get("X-Daiban-Keep") == "1" {
		cks := r.Cookies()
		r.Header.Del("Cookie")
		for _, ck := range cks {
			if ck.Name != flashCookie {
				r.AddCookie(ck)
			}
		}
	}
	if ck, err := c.Request().Cookie(flashCookie); err != nil || ck.Value == "" {
		c.Response().Header().Set(offlineHeader, "keep")
	}
}

// custodyErrand is one open errand with the originals the agent may hand
// on now.
type custodyErrand struct {
	ID        int64
	Number    string
	Title     string
	Applicant string
	Materials []custodyMaterial
}

type custodyMaterial struct {
	Code, Name, Holder, HolderName string
	Count                          int
	// Idem is the no-script form's idempotency key.
	Idem string
}

type villageCustodyData struct {
	User    string
	Synced  time.Time
	Errands []custodyErrand
	// Agents are who may take an original (the agents over the village).
	Agents []agentOption
	// CSRF goes into the no-script forms (village.js sends through the
	// API with a fresh token instead).
	CSRF string
}

// villageCustody is the hand-over form of the agent's open errands: for
// each original the agent may hand on now (held by the applicant, by the
// agent, or by a department), who takes it, how many, and a note. Without
// signal it is shown as last synced and a hand-over waits in the outbox;
// items queued in order reach the server in order, so "from the villager
// to me" and then "from me to the township" both hold.
func (p *Pages) villageCustody(c echo.Context) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	list, err := p.Cases.List(ctx, cases.Filter{Scope: pr.Region, Username: pr.Username, OwnOnly: true, Limit: 100})
	if err != nil {
		return err
	}
	staff, err := p.Users.List(ctx, countyOf(pr.Region))
	if err != nil {
		return err
	}
	names, agents := staffOf(staff, pr.Region)
	d := villageCustodyData{User: pr.Username, Synced: time.Now(), Agents: agents, CSRF: pr.CSRFToken}
	for _, cs := range list {
		if !cs.State.Open() {
			continue
		}
		e, err := p.custodyErrand(ctx, cs.ID, pr.Username, names)
		if err != nil {
			return err
		}
		if len(e.Materials) > 0 {
			d.Errands = append(d.Errands, e)
		}
	}
	v := view{Title: "原件移交", Data: d}
	offlinePage(c)
	return p.Render(c, http.StatusOK, "village_custody", v)
}

func (p *Pages) custodyErrand(ctx context.Context, id int64, me string, names map[string]string) (custodyErrand, error) {
	cs, err := p.Cases.Get(ctx, id)
	if err != nil {
		return custodyErrand{}, err
	}
	e := custodyErrand{ID: cs.ID, Number: cs.Number, Title: cs.Title, Applicant: cases.MaskName(cs.Applicant.Name)}
	for _, m := range cs.Materials {
		if !(m.RequiredOriginal || m.Original) || !(m.Holder == "applicant" || m.Holder == me || strings.HasPrefix(m.Holder, "department:")) {
			continue
		}
		hn := holderName(m.Holder)
		if n, ok := names[m.Holder]; ok {
			hn = n
		}
		if m.Holder == me {
			hn = "我本人"
		}
		e.Materials = append(e.Materials, custodyMaterial{Code: m.Code, Name: m.Name, Holder: m.Holder, HolderName: hn, Count: max(m.RequiredCount, 1), Idem: newKey()})
	}
	return e, nil
}

// villageSession tells the outbox, at sending time, who is signed in and
// the session's CSRF token: an item queued under an earlier session (or
// before a fresh sign-in) is sent with the token of the session now.
// Unsigned, it is the guard's 401, which the outbox shows as "sign in
// again" and keeps the items.
func (p *Pages) villageSession(c echo.Context) error {
	pr := httpapi.CurrentPrincipal(c)
	return c.JSON(http.StatusOK, map[string]string{
		"username": pr.Username, "name": pr.Name, "csrf": pr.CSRFToken,
		"expires_at": pr.ExpiresAt.UTC().Format(time.RFC3339),
	})
}

// villageManifest is the web app manifest. It is public: browsers fetch
// manifests without cookies.
func villageManifest(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "application/manifest+json", []byte(`{
  "name": "帮办代办 · 村代办员",
  "short_name": "村代办",
  "description": "村代办员的手机代办：没有信号时也能登记代办和原件移交，有信号后自动上传。",
  "lang": "zh-CN",
  "start_url": "/village",
  "scope": "/village",
  "display": "standalone",
  "background_color": "#ffffff",
  "theme_color": "#b3261e",
  "icons": [
    {"src": "/village/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "/village/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {"src": "/village/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"}
  ]
}`))
}

// workerScript is the service worker with the build of the static files
// it keeps written in: a new binary with changed files is a new worker,
// which replaces the old one and its copies.
var workerScript = func() []byte {
	src, err := fs.ReadFile(staticFS, "static/village-sw.js")
	if err != nil {
		panic(err)
	}
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(staticFS, path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	return append([]byte("const BUILD = "+strconv.Quote(hex.EncodeToString(h.Sum(nil))[:12])+";\n"), src...)
}()

// villageWorker serves the service worker. Its scope is /village (the
// list page itself, not only what lies under /village/), which a script
// at /village/sw.js may claim only with Service-Worker-Allowed.
func villageWorker(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Service-Worker-Allowed", "/village")
	h.Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", workerScript)
}

var (
	icon192 = iconPNG(192)
	icon512 = iconPNG(512)
)

func villageIcon(png []byte) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		return c.Blob(http.StatusOK, "image/png", png)
	}
}
