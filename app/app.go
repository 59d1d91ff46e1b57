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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/calendar"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/catalog"
	"github.com/daiban/daiban/documents"
	"github.com/daiban/daiban/httpapi"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/regions"
	"github.com/daiban/daiban/sql/dbsqlc"
	"github.com/daiban/daiban/users"
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
	Center agreements.Center
	// FontDirs are searched for the document fonts before the Debian
	// locations.
	FontDirs []string
	// Registerer and Gatherer expose metrics; nil means a private registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
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
	Documents *documents.Service
	Calendar  *calendar.Calendar
	HTTP      *httpapi.Server
}

// New builds the service on a migrated database.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Origin == "" {
		o.Origin = "daiban.370323"
	}
	if o.Center.Name == "" {
		o.Center = DefaultCenter
	}
	a := &App{
		Pool:     o.Pool,
		Logger:   o.Logger,
		Users:    users.NewService(o.Pool),
		Regions:  regions.NewStore(o.Pool),
		Catalog:  catalog.NewStore(o.Pool),
		Calendar: calendar.Default(),
	}
	grants, err := a.Users.Grants(ctx)
	if err != nil {
		return nil, err
	}
	if a.Authz, err = policies.New(grants); err != nil {
		return nil, err
	}
	if a.Signer, err = ledger.LoadOrCreateKey(o.KeyDir, o.Origin); err != nil {
		return nil, err
	}
	a.Ledger = ledger.New(o.Pool, a.Signer)
	a.Cases = cases.NewService(o.Pool, record, func() *calendar.Calendar { return a.Calendar })
	fonts, err := agreements.LoadFonts(o.FontDirs...)
	if err != nil {
		return nil, err
	}
	renderer, err := agreements.NewRenderer(fonts, o.Center)
	if err != nil {
		return nil, err
	}
	sealer, err := agreements.LoadSealer(o.KeyDir)
	if err != nil {
		return nil, err
	}
	a.Documents = documents.NewService(o.Pool, a.Cases, a.Catalog, a.Users, renderer, sealer, a.Ledger, o.Center)
	pages, err := web.New(o.Center.Name, a.Cases, a.Documents)
	if err != nil {
		return nil, err
	}
	reg, gather := o.Registerer, o.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	}
	a.HTTP = httpapi.New(a.Authz, a.Users.AsAuthenticator(), o.Logger, reg)
	a.HTTP.Register(
		httpapi.Route{Method: http.MethodGet, Path: "/healthz", Public: true, Handler: a.health},
		httpapi.MetricsRoute(gather),
	)
	caseHTTP := cases.NewHandler(a.Cases, a.Authz)
	a.HTTP.Register(a.Users.Routes()...)
	a.HTTP.Register(a.Regions.Routes()...)
	a.HTTP.Register(a.Catalog.Routes()...)
	a.HTTP.Register(caseHTTP.Routes()...)
	a.HTTP.Register(a.Ledger.Routes(caseHTTP.Scope)...)
	a.HTTP.Register(documents.NewHandler(a.Documents, caseHTTP.Scope).Routes()...)
	a.HTTP.Register(pages.Routes()...)
	return a, nil
}

// DefaultCenter is the demo county's government service center.
var DefaultCenter = agreements.Center{
	Name:    "沂源县政务服务中心",
	Address: "山东省淄博市沂源县政务服务中心",
	Phone:   "0533-3241234",
	BaseURL: "http://127.0.0.1:8080",
}

// record appends a case event to the ledger in the case's transaction.
func record(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) error {
	return ledger.Record(ctx, db, ledger.Meta{Actor: actor, CaseID: caseID, Region: region, Type: typ}, payload)
}

// Start runs the background work (the ledger integrator) until ctx ends;
// the returned channel closes when it has stopped.
func (a *App) Start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Ledger.Run(ctx, 200*time.Millisecond)
	}()
	return done
}

// health answers 200 when the database answers, 503 otherwise, so a load
// balancer takes an instance out while its database is away.
func (a *App) health(c echo.Context) error {
	if err := a.Pool.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
