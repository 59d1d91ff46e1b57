// Package app wires every part of daiban into one running service: the
// stores and services on one database pool, the authorizer loaded from the
// users table, the ledger and its integrator, and the HTTP server with every
// route. The command line and the end-to-end tests build the service
// through it, so the tests exercise what runs.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cases/hotline"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/cases/reports"
	"github.com/daiban/daiban/cmd/daiban/jobs"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/policies/regions"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/backup"
	"github.com/daiban/daiban/sql/dbsqlc"
	"github.com/daiban/daiban/web"
)

// Options configure New.
type Options struct {
	Pool   *pgxpool.Pool // works as the app role
	Logger *slog.Logger
	// KeyDir holds the ledger's checkpoint signing key (created on first
	// use, never stored in the database).
	KeyDir string
	// Origin names the log in its checkpoints.
	Origin string
	// Center is the issuing center printed on documents; its BaseURL is
	// where the QR codes point.
	Center pdf.Center
	// FontDirs are searched for the document fonts before the Debian
	// locations.
	FontDirs []string
	// Registerer and Gatherer expose metrics; nil means a private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// MetricsAllow are the addresses besides the loopback that may read
	// /metrics (DAIBAN_METRICS_ALLOW).
	MetricsAllow []netip.Prefix
	// Now is the clock of the case service, the deadline scan and the
	// supervision lists (time.Now when nil); tests move it.
	Now func() time.Time
	// ScanInterval is how often the deadline scan runs
	// (deadlines.DefaultScanInterval when 0).
	ScanInterval time.Duration
	// Sender delivers notices (a log line when nil).
	Sender deadlines.Sender
	// JobsID names this server's River client (generated when empty).
	JobsID string
	// Backup says where pgBackRest keeps the database's backups, for the
	// supervisor's dashboard (zero: none configured, which it shows).
	Backup backup.Config
	// TSAURL is the RFC 3161 time-stamping service (DAIBAN_TSA_URL); empty
	// means the center's local TSA (tsa.key in KeyDir). TimestampInterval
	// is how often sealed documents awaiting a timestamp are completed
	// (agreements.TimestampInterval when 0).
	TSAURL            string
	TimestampInterval time.Duration
	// Public configures the witnesses and the public routes' rate limit.
	Public PublicOptions
	// CodeSender delivers applicants' one-time codes (bookings, postal
	// delivery); a log line without personal data when nil.
	CodeSender cases.CodeSender
	// Notify tunes the applicant notifications' delivery (retries,
	// senders); Pool, Partners, PII, Logger and BaseURL are filled in.
	Notify notify.Config
}

// App is a wired service.
type App struct {
	Pool      *pgxpool.Pool
	Logger    *slog.Logger
	Users     *users.Service
	Regions   *regions.Store
	Catalog   *catalog.Store
	Authz     *policies.Authorizer
	Ledger    *ledger.Log
	Signer    *ledger.Signer
	Cases     *cases.Service
	Documents *agreements.Service
	// Calendar is the working-day calendar in force; it follows imports
	// (Calendars keeps it in step with the database).
	Calendar  *calendar.Live
	Calendars *calendar.Store
	// Deadlines keeps the cases' clocks and sends notices; Supervision
	// lists what is late (both package cases/deadlines).
	Deadlines   *deadlines.Service
	Supervision *deadlines.Supervision
	Jobs        *jobs.Runner
	workers     *river.Workers // the River workers of Jobs
	HTTP        *httpapi.Server
	// PII seals the applicants' ID numbers and phones (KeyDir/pii.key).
	PII *pii.Keys
	// personal writes case entries with commitments for personal values;
	// Publisher gets checkpoints cosigned by the witnesses (public.go).
	personal  *ledger.Personal
	Publisher *ledger.Publisher
	Witness   *ledger.Witness // the local witness, when none is configured
	Limiter   *httpapi.RateLimiter
	// Appointments is 网上预约.
	Appointments *appointments.Service
	// Partners are the systems daiban exchanges data with; Notify
	// delivers the applicant notifications and hotline replies.
	Partners *partners.Store
	Notify   *notify.Service
}

// New builds the service on a migrated database.
func New(ctx context.Context, o Options) (*App, error) {
	o.defaults()
	a := &App{
		Pool:    o.Pool,
		Logger:  o.Logger,
		Users:   users.NewService(o.Pool, ledger.RecordAccount),
		Regions: regions.NewStore(o.Pool),
		Catalog: catalog.NewStore(o.Pool),
	}
	if err := a.loadCalendarAndGrants(ctx, o); err != nil {
		return nil, err
	}
	var err error
	if a.Signer, err = ledger.LoadOrCreateKey(o.KeyDir, o.Origin); err != nil {
		return nil, err
	}
	a.Ledger = ledger.New(o.Pool, a.Signer)
	a.Ledger.SetEventNames(cases.EventName)
	if err := a.openPII(ctx, o); err != nil {
		return nil, err
	}
	a.newNotify(o)
	if err := a.newDeadlines(o); err != nil {
		return nil, err
	}
	fonts, err := pdf.LoadFonts(o.FontDirs...)
	if err != nil {
		return nil, err
	}
	a.Cases = cases.NewService(cases.Config{Pool: o.Pool, Record: a.record, Encode: a.encode, Calendar: a.Calendar.Current,
		Deadlines: a.Deadlines, Now: o.Now, PII: a.PII, Authz: a.Authz, Printable: fonts.Check, Notify: notify.Notify})
	renderer, err := pdf.NewRenderer(fonts, o.Center)
	if err != nil {
		return nil, err
	}
	if err := a.newDocuments(o, renderer); err != nil {
		return nil, err
	}
	a.newAppointments(o) // and the documents' sender of one-time codes
	reg, gather := o.Registerer, o.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	}
	a.HTTP = httpapi.New(a.Authz, a.Users.AsAuthenticator(), o.Logger, reg)
	backups := newBackups(o, reg)
	a.HTTP.Echo.Use(httpapi.Headers(o.Center.BaseURL)) // no-store, nosniff, HSTS over HTTPS
	a.HTTP.Register(
		httpapi.Route{Method: http.MethodGet, Path: "/healthz", Public: true, Handler: a.health},
		httpapi.MetricsRoute(gather, o.MetricsAllow),
	)
	caseHTTP := cases.NewHandler(a.Cases, a.Authz)
	pages, err := web.New(web.Deps{Center: o.Center.Name, BaseURL: o.Center.BaseURL, Cases: a.Cases, Documents: a.Documents, Users: a.Users,
		Catalog: a.Catalog, Regions: a.Regions, Authz: a.Authz, Supervision: a.Supervision, Notices: a.Deadlines, CaseScope: caseHTTP.Scope,
		Ledger: a.Ledger, Logger: o.Logger, Backups: backups, Appointments: a.Appointments, Partners: a.Partners, Outbox: a.Notify})
	if err != nil {
		return nil, err
	}
	a.HTTP.Echo.Use(pages.Errors) // page routes answer with pages, and send a signed-out browser to /login
	a.HTTP.Register(a.Users.Routes()...)
	a.HTTP.Register(a.Regions.Routes()...)
	a.HTTP.Register(a.Catalog.Routes()...)
	a.HTTP.Register(a.Appointments.Routes()...)
	a.HTTP.Register(caseHTTP.Routes()...)
	a.HTTP.Register(a.Ledger.Routes(caseHTTP.Scope)...)
	a.HTTP.Register(agreements.NewHandler(a.Documents, caseHTTP.Scope).Routes()...)
	a.HTTP.Register(pages.Routes()...)
	a.HTTP.Register(a.Deadlines.Routes()...)
	a.HTTP.Register(a.Supervision.Routes()...)
	a.HTTP.Register(reports.NewService(o.Pool, a.Calendar.Current, renderer, o.Now).Routes()...)
	a.registerPartners(o)
	return a, a.openPublic(o)
}

// loadCalendarAndGrants reads the holiday calendar and the staff's grants
// (the authorizer decides every request from them).
func (a *App) loadCalendarAndGrants(ctx context.Context, o Options) error {
	a.Calendars = calendar.NewStore(o.Pool, o.Logger)
	if _, _, err := a.Calendars.Load(ctx); err != nil {
		return err
	}
	a.Calendar = a.Calendars.Live
	grants, err := a.Users.Grants(ctx)
	if err != nil {
		return err
	}
	a.Authz, err = policies.New(grants)
	return err
}

// newAppointments wires 网上预约 (after the case service).
func (a *App) newAppointments(o Options) {
	if o.CodeSender == nil {
		o.CodeSender = cases.LogCodeSender{Logger: o.Logger}
	}
	// Codes go out through the applicants' text channel (the SMS or
	// platform partner) when one is set up, else to o.CodeSender.
	o.CodeSender = notify.CodeSender{Service: a.Notify, Fallback: o.CodeSender}
	a.Appointments = appointments.New(appointments.Config{Pool: o.Pool, Keys: a.PII, Calendar: a.Calendar.Current, Catalog: a.Catalog,
		Cases: a.Cases, Sender: o.CodeSender, Now: o.Now, Logger: o.Logger})
	a.Documents.Codes = o.CodeSender
}

// newNotify builds the partners and the applicant notifications' outbox
// (before the case service, which writes into it).
func (a *App) newNotify(o Options) {
	a.Partners = partners.NewStore(o.Pool, a.PII, ledger.RecordAccount)
	nc := o.Notify
	nc.Pool, nc.Partners, nc.PII, nc.Logger, nc.BaseURL = o.Pool, a.Partners, a.PII, o.Logger, o.Center.BaseURL
	a.Notify = notify.NewService(nc)
}

// registerPartners adds what other systems use: the partner endpoints
// (the administrator's, the outbox's dead letters, the 12345 work orders)
// and the API's description, built on first use from the whole route
// table (so routes registered after this call are in it too).
func (a *App) registerPartners(o Options) {
	a.HTTP.Register(a.Partners.Routes()...)
	a.HTTP.Register(a.Notify.Routes(ledger.RecordAccount)...)
	a.HTTP.Register(hotline.NewHandler(o.Pool, a.Cases, a.Partners, a.Deadlines, a.record).Routes()...)
	a.HTTP.Register(a.HTTP.DocsRoutes()...)
}

// defaults fills in the log's origin and the issuing center when unset.
func (o *Options) defaults() {
	if o.Origin == "" {
		o.Origin = "daiban.370323"
	}
	if o.Center.Name == "" {
		o.Center = DefaultCenter
	}
}

// DefaultCenter is the demo county's government service center.
var DefaultCenter = pdf.Center{
	Name:    "沂源县政务服务中心",
	Address: "山东省淄博市沂源县政务服务中心",
	Phone:   "0533-3241234",
	BaseURL: "http://127.0.0.1:8080",
}

// encode prepares a case action's ledger entry for the action's own write:
// personal values become commitments (ledger.Personal).
func (a *App) encode(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) ([]byte, error) {
	return a.personal.Encode(ctx, db, ledger.Meta{Actor: actor, CaseID: caseID, Region: region, Type: typ}, payload)
}

// record appends a case event to the ledger in the case's transaction.
func (a *App) record(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) error {
	return a.personal.Record(ctx, db, ledger.Meta{Actor: actor, CaseID: caseID, Region: region, Type: typ}, payload)
}

// Start runs the background work until ctx ends: the ledger integrator,
// the calendar watcher (a new calendar is in force within moments of its
// import) and the job runner (River: the deadline scan and the notice
// outbox). The returned channel closes when all have stopped.
func (a *App) Start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(4)
	go func() {
		defer wg.Done()
		a.Ledger.Run(ctx, 200*time.Millisecond)
	}()
	go func() {
		defer wg.Done()
		a.housekeeping(ctx, time.Hour)
	}()
	go func() {
		defer wg.Done()
		a.Calendars.Watch(ctx, 5*time.Second)
	}()
	go func() {
		defer wg.Done()
		a.Jobs.Run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.publish(ctx)
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

// housekeeping deletes long-expired sessions and old sign-in failures,
// now and then every interval, so those tables do not grow for years. Every
// instance may do it; the deletes are idempotent.
func (a *App) housekeeping(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.Users.Purge(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("purging sessions", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// health answers 200 when the database answers, 503 otherwise, so a load
// balancer takes an instance out while its database is away.
func (a *App) health(c echo.Context) error {
	if err := a.Pool.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// newDocuments builds the documents service on the center's sealer (with
// DAIBAN_TSA_URL's TSA, else the local one) and schedules the job that
// completes documents sealed while the TSA was away.
func (a *App) newDocuments(o Options, renderer *pdf.Renderer) error {
	sealer, err := pdf.LoadSealer(o.KeyDir)
	if err != nil {
		return err
	}
	if o.TSAURL != "" {
		sealer.UseTSA(o.TSAURL, 0)
	}
	if err := sealer.Ready(); err != nil {
		return err
	}
	a.Documents = agreements.NewService(o.Pool, a.Cases, a.Catalog, a.Users, renderer, sealer, a.Ledger, o.Center, a.PII)
	for _, j := range a.Documents.TimestampJobs(a.workers, o.TimestampInterval) {
		a.Jobs.Client.PeriodicJobs().Add(j)
	}
	return nil
}
