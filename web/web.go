// Package web serves daiban's pages: server-rendered HTML in Simplified
// Chinese, with the templates and static files embedded (no external
// network). Staff pages — sign-in, the agents' desk (工作台), intake, the
// case page with its action forms, agreement signing and handover, the
// village agent's phone pages and the supervisor's dashboard — and the
// public pages — document verification, applicant tracking and the tablet
// signing page.
//
// Every page and form post is an httpapi.Route with the same permission
// (Obj, Act, Scope) as its API twin, so the one guard decides both alike.
// Forms are plain POSTs that work without JavaScript: they carry the
// session's CSRF token in a hidden field (the guard checks it), redirect
// after success (303) and, on a mistake, show the same page again with the
// message next to the field at fault. Forms that create or change
// something also carry an idempotency key made when the form is shown, so
// the same form sent twice over a bad connection takes effect once.
// JavaScript is needed only to draw a signature.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/backup"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are the services the pages use. The pages run no SQL of their own:
// every read and write goes through one of these.
type Deps struct {
	// Center names the issuing center in the page header.
	Center string
	// BaseURL is the site's public address (DAIBAN_BASE_URL): a public
	// form posted with an Origin must come from it or from the host the
	// request was sent to.
	BaseURL     string
	Cases       *cases.Service
	Documents   *agreements.Service
	Users       *users.Service
	Catalog     *catalog.Store
	Regions     *regions.Store
	Authz       *policies.Authorizer
	Supervision *deadlines.Supervision
	// Notices is the notices inbox (deadline warnings, 督办).
	Notices *deadlines.Service
	// Ledger verifies the ledger for the supervisor's dashboard.
	Ledger *ledger.Log
	// CaseScope locates the case of a /cases/:id route for the guard: the
	// API's own, so a page and its API twin are decided alike.
	CaseScope httpapi.ScopeFunc
	Logger    *slog.Logger
	// Backups reports the database's backups on the supervisor's
	// dashboard (nil: not shown).
	Backups *backup.Monitor
	// Appointments is 网上预约 (the public booking page, the desk's list).
	Appointments *appointments.Service
	// Partners and Outbox are the administrator's partner page (issue
	// 16): the partners, their deliveries and the dead letters.
	Partners *partners.Store
	Outbox   *notify.Service
}

// Pages renders the pages.
type Pages struct {
	Deps
	pages map[string]*template.Template
	// routes are the page routes, "METHOD path"; Errors renders their
	// failures as pages.
	routes map[string]bool
}

// pageNames lists the pages; each is layout.html and forms.html plus its
// own file.
var pageNames = []string{
	"login", "home", "error", "desk", "intake", "case", "agreement", "handover",
	"village", "village_new", "supervision", "verify", "track", "sign",
	"notices", "receipt", "partners",
	"village_custody",
	"guides", "guide", "appointments", "booking", "slots",
}

// New parses every template once at start-up.
func New(d Deps) (*Pages, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	p := &Pages{Deps: d, pages: map[string]*template.Template{}, routes: map[string]bool{}}
	for _, name := range pageNames {
		t := template.New(name).Funcs(funcs)
		t.Funcs(template.FuncMap{"actionForm": actionFormFunc(t), "provisional": p.provisional})
		t, err := t.ParseFS(templateFS, "templates/layout.html", "templates/forms.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

// actionFormFunc renders an action's form with the template its
// description names, so the case page needs no list of actions.
func actionFormFunc(t *template.Template) func(actionForm) (template.HTML, error) {
	return func(x actionForm) (template.HTML, error) {
		var b strings.Builder
		if err := t.ExecuteTemplate(&b, x.Spec.Form, x); err != nil {
			return "", err
		}
		return template.HTML(b.String()), nil // already escaped by t
	}
}

// Routes returns every page, form post and the static files.
func (p *Pages) Routes() []httpapi.Route {
	files := staticFiles()
	cs := p.CaseScope
	get, post := http.MethodGet, http.MethodPost
	routes := []httpapi.Route{
		{Method: get, Path: "/static/*", Public: true, Handler: files},
		{Method: get, Path: "/favicon.ico", Public: true, Handler: favicon},

		// Public: sign-in, verification, tracking, the tablet signing page.
		{Method: get, Path: "/login", Public: true, Handler: p.loginPage},
		{Method: post, Path: "/login", Public: true, Handler: p.login},
		{Method: get, Path: "/verify", Public: true, Handler: p.verifyLookup},
		{Method: get, Path: "/verify/:key", Public: true, Handler: p.verify},
		{Method: get, Path: "/track", Public: true, Handler: p.trackLookup},
		{Method: get, Path: "/track/:code", Public: true, Handler: p.track},
		{Method: post, Path: "/track/:code", Public: true, Handler: p.trackEvaluate},
		{Method: post, Path: "/track/:code/delivery", Public: true, Handler: p.trackDelivery},
		{Method: get, Path: "/sign/:token", Public: true, Handler: p.sign},
		{Method: get, Path: "/sign/:token/pages/:n", Public: true, Handler: p.signPage},
		{Method: get, Path: "/copy/:token", Public: true, Handler: p.copyPDF},
		{Method: get, Path: "/copy/:token/qr", Public: true, Handler: p.copyQR},
		{Method: get, Path: "/guide", Public: true, Handler: p.guideIndex},
		{Method: get, Path: "/guide/:code", Public: true, Handler: p.guide}, // and /guide/{code}.pdf
		{Method: get, Path: "/appointments", Public: true, Handler: p.bookPage},
		{Method: post, Path: "/appointments", Public: true, Handler: p.book},
		{Method: get, Path: "/appointments/:code", Public: true, Handler: p.bookingPage},
		{Method: post, Path: "/appointments/:code/:act", Public: true, Handler: p.bookingAct}, // confirm, cancel
		{Method: get, Path: "/appointments/slots", Obj: "appointment", Act: "manage", Handler: p.slotsPage},
		{Method: post, Path: "/appointments/slots", Obj: "appointment", Act: "manage", Handler: p.openSlots},

		// Staff.
		{Method: get, Path: "/", Obj: "session", Act: "me", Handler: p.home},
		{Method: post, Path: "/logout", Obj: "session", Act: "me", Handler: p.logout},
		{Method: get, Path: "/desk", Obj: "report", Act: "read", Handler: p.desk},
		{Method: get, Path: "/notices", Obj: "notice", Act: "read", Handler: p.notices},
		{Method: post, Path: "/notices/read", Obj: "notice", Act: "read", Handler: p.noticesReadAll},
		{Method: post, Path: "/notices/:id/read", Obj: "notice", Act: "read", Handler: p.noticeRead},
		{Method: get, Path: "/intake", Obj: "case", Act: "create", Handler: p.intakePage},
		{Method: post, Path: "/intake", Obj: "case", Act: "create", Handler: p.intake},
		{Method: get, Path: "/village", Obj: "case", Act: "create", Handler: p.village},
		{Method: get, Path: "/village/new", Obj: "case", Act: "create", Handler: p.villageNewPage},
		{Method: post, Path: "/village/new", Obj: "case", Act: "create", Handler: p.villageNew},
		// The village app for use without signal (village.go).
		{Method: get, Path: "/village/done", Obj: "case", Act: "create", Handler: p.villageDone},
		{Method: get, Path: "/village/custody", Obj: "case", Act: "create", Handler: p.villageCustody},
		{Method: get, Path: "/village/session.json", Obj: "session", Act: "me", Handler: p.villageSession},
		{Method: get, Path: "/village/manifest.webmanifest", Public: true, Handler: villageManifest},
		{Method: get, Path: "/village/sw.js", Public: true, Handler: villageWorker},
		{Method: get, Path: "/village/icon-192.png", Public: true, Handler: villageIcon(icon192)},
		{Method: get, Path: "/village/icon-512.png", Public: true, Handler: villageIcon(icon512)},
		{Method: get, Path: "/cases/:id", Obj: "case", Act: "read", Scope: cs, Handler: p.casePage},
		{Method: get, Path: "/cases/:id/receipt", Obj: "case", Act: "read", Scope: cs, Handler: p.intakeReceiptPage},
		{Method: get, Path: "/cases/:id/receipt.pdf", Obj: "case", Act: "read", Scope: cs, Handler: p.intakeReceiptPDF},
		{Method: post, Path: "/cases/:id/act/:action", Obj: "case", ActParam: "action", Scope: cs, Handler: p.act},
		{Method: post, Path: "/cases/:id/custody", Obj: "case", Act: "custody", Scope: cs, Handler: p.custody},
		{Method: post, Path: "/cases/:id/notice", Obj: "case", Act: "issue_notice", Scope: cs, Handler: p.notice},
		{Method: get, Path: "/cases/:id/agreement", Obj: "case", Act: "agreement", Scope: cs, Handler: p.agreementPage},
		{Method: post, Path: "/cases/:id/agreement", Obj: "case", Act: "agreement", Scope: cs, Handler: p.draftAgreement},
		{Method: post, Path: "/cases/:id/agreement/link", Obj: "case", Act: "agreement", Scope: cs, Handler: p.agreementLink},
		{Method: get, Path: "/cases/:id/handover", Obj: "case", Act: "handover", Scope: cs, Handler: p.handoverPage},
		{Method: post, Path: "/cases/:id/handover", Obj: "case", Act: "handover", Scope: cs, Handler: p.handover},
		{Method: post, Path: "/cases/:id/handover/link", Obj: "case", Act: "handover", Scope: cs, Handler: p.handoverLink},
		{Method: post, Path: "/cases/:id/delivery/proof", Obj: "case", Act: "handover", Scope: cs, Handler: p.carrierProof},
		{Method: post, Path: "/cases/:id/application", Obj: "case", Act: "issue_notice", Scope: cs, Handler: p.application},
		{Method: get, Path: "/supervision", Obj: "report", Act: "read", Handler: p.supervision},
		{Method: post, Path: "/supervision/ledger", Obj: "ledger", Act: "verify", Handler: p.verifyLedger},
		{Method: get, Path: "/supervision/report", Obj: "report", Act: "read", Handler: p.supervisionReport},
		{Method: get, Path: "/partners", Obj: "partner", Act: "read", Handler: p.partnersPage},
		{Method: post, Path: "/partners", Obj: "partner", Act: "manage", Handler: p.partnerAdd},
		{Method: post, Path: "/partners/:name/revoke", Obj: "partner", Act: "manage", Handler: p.partnerRevoke},
		{Method: post, Path: "/notifications/:id/resend", Obj: "partner", Act: "manage", Handler: p.notificationResend},
	}
	for _, rt := range routes {
		if rt.Path != "/static/*" {
			p.routes[rt.Method+" "+rt.Path] = true
		}
	}
	return routes
}

// view is what every page template gets.
type view struct {
	Title  string
	Center string
	// User is the signed-in staff user (nil on public pages).
	User *userView
	// CSRF is the session's token for the forms' hidden field.
	CSRF string
	// Flash is the message of the previous post (redirect-after-post).
	Flash *flash
	// Base is the scheme and host the browser used, for links shown as QR
	// codes to another device (the counter tablet).
	Base string
	Data any
}

// Render executes a page into a buffer first, so a template error becomes
// a clean error page rather than half a page.
func (p *Pages) Render(c echo.Context, status int, name string, v view) error {
	v.Center = p.Center
	v.Base = c.Scheme() + "://" + c.Request().Host
	if pr := httpapi.CurrentPrincipal(c); pr.Username != "" && v.User == nil {
		v.User = p.userView(pr)
		v.CSRF = pr.CSRFToken
		v.User.Unread = p.unread(c, pr.Username)
	}
	if v.Flash == nil {
		v.Flash = takeFlash(c)
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Everything is served from here: no inline script or style, images
	// from here or data: (the QR codes), no framing (clickjacking).
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	return c.HTMLBlob(status, buf.Bytes())
}

// userView is the signed-in user as the header shows it, with the places
// the role may go.
type userView struct {
	Username, Name                     string
	Role                               policies.Role
	RoleName, Region                   string
	Desk, Intake, Village, Supervision bool
	Partners                           bool
	// Unread counts the user's unread notices (the inbox's badge).
	Unread int
}

func (p *Pages) userView(pr httpapi.Principal) *userView {
	u := &userView{Username: pr.Username, Name: pr.Name, Role: pr.Role, RoleName: pr.Role.Label(), Region: pr.Region}
	may := func(obj, act string) bool { return p.Authz.RoleMay(pr.Username, obj, act) }
	u.Village = pr.Role == policies.RoleVillageAgent
	u.Desk = may("report", "read") && may("case", "progress")
	u.Intake = may("case", "create") && !u.Village
	u.Supervision = may("report", "read")
	u.Partners = may("partner", "read")
	return u
}

// unread counts the user's unread notices for the navigation; a failure
// is logged and shows no badge rather than no page.
func (p *Pages) unread(c echo.Context, username string) int {
	if p.Notices == nil {
		return 0
	}
	n, err := p.Notices.UnreadCount(c.Request().Context(), username)
	if err != nil {
		p.Logger.Error("counting unread notices", "request_id", httpapi.RequestID(c), "err", err.Error())
		return 0
	}
	return n
}

// homeOf is where a role starts.
func homeOf(role policies.Role) string {
	switch role {
	case policies.RoleVillageAgent:
		return "/village"
	case policies.RoleSupervisor:
		return "/supervision"
	case policies.RoleAdmin:
		return "/"
	}
	return "/desk"
}

// Errors renders the failures of page routes as pages with the status the
// API would answer: a form post refused by the guard gets a readable page,
// not JSON. An unauthenticated browser asking for a page (GET, accepting
// HTML) is sent to the sign-in page instead of the bare 401; API clients
// and everything else keep the 401. Install it on the server's Echo.
func (p *Pages) Errors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		page := p.routes[c.Request().Method+" "+c.Path()]
		// An address that is no page nor API (a typo, a trailing slash)
		// asked for by a browser is answered with a page too.
		lost := !page && !strings.HasPrefix(c.Request().URL.Path, "/api/") && strings.Contains(c.Request().Header.Get("Accept"), "text/html") &&
			httpapi.Status(err) == http.StatusNotFound
		if !page && !lost {
			return err
		}
		if lost {
			err = daiban.Errorf(daiban.ENOTFOUND, "页面不存在，请检查地址是否正确")
		}
		status := httpapi.Status(err)
		if status == 0 {
			status = http.StatusInternalServerError
		}
		r := c.Request()
		if status == http.StatusUnauthorized && r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/html") {
			return c.Redirect(http.StatusSeeOther, "/login?next="+urlQueryEscape(r.URL.RequestURI()))
		}
		msg := daiban.ErrorMessage(err)
		if status >= 500 {
			p.Logger.Error("page failed", "request_id", httpapi.RequestID(c), "route", c.Path(), "method", r.Method, "err", err.Error())
			msg = "服务器暂时无法完成请求，请稍后重试。"
			if status == http.StatusServiceUnavailable {
				c.Response().Header().Set("Retry-After", "5")
				if m := httpapi.Unavailable(err); m != "" {
					msg = m
				}
			}
		}
		e := errorPage{Status: status, Message: msg, Login: status == http.StatusUnauthorized, Next: r.URL.RequestURI()}
		if rerr := p.Render(c, status, "error", view{Title: errorTitles[status], Data: e}); rerr != nil {
			p.Logger.Error("rendering error page", "request_id", httpapi.RequestID(c), "err", rerr.Error())
			return err
		}
		return nil
	}
}

type errorPage struct {
	Status  int
	Message string
	Login   bool
	Next    string
}

var errorTitles = map[int]string{
	http.StatusBadRequest:          "请求有误",
	http.StatusUnauthorized:        "请先登录",
	http.StatusForbidden:           "无权操作",
	http.StatusNotFound:            "未找到",
	http.StatusConflict:            "操作冲突",
	http.StatusUnprocessableEntity: "填写有误",
	http.StatusTooManyRequests:     "请求过于频繁",
	http.StatusInternalServerError: "服务器错误",
	http.StatusServiceUnavailable:  "服务暂不可用",

	http.StatusRequestEntityTooLarge: "提交内容过多",
}

// now is the clock of the case service (tests move it).
func (p *Pages) now() time.Time { return p.Cases.Now() }

// today is the date in Shanghai as YYYY-MM-DD.
func (p *Pages) today() string { return calendar.Date(p.now()).Format("2006-01-02") }

// provisional reports, for a list, whether an open case's due date lies
// past the calendar in force (a page's own case carries DueProvisional).
func (p *Pages) provisional(state any, due string) bool {
	return p.Cases != nil && toState(state).Open() && cases.Provisional(p.Cases.Calendar(), due)
}

// actor is the signed-in user as the services see it.
func actor(c echo.Context) cases.Actor {
	pr := httpapi.CurrentPrincipal(c)
	return cases.Actor{Username: pr.Username, Role: pr.Role, Region: pr.Region}
}

// seeOther is the redirect after a successful post.
func seeOther(c echo.Context, path string) error { return c.Redirect(http.StatusSeeOther, path) }
