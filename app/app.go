// Package app wires every part of daiban into one running service: the
// stores and services on one database pool, the authorizer loaded from the
// users table, and the HTTP server with every route. The command line and
// the end-to-end tests build the service through it, so they test what runs.
package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban/catalog"
	"github.com/daiban/daiban/httpapi"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/regions"
	"github.com/daiban/daiban/users"
)

// App is a wired service.
type App struct {
	Pool    *pgxpool.Pool
	Users   *users.Service
	Regions *regions.Store
	Catalog *catalog.Store
	Authz   *policies.Authorizer
	HTTP    *httpapi.Server
}

// New builds the service on a migrated database. reg and gather may be nil
// (tests use a private registry).
func New(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, reg prometheus.Registerer, gather prometheus.Gatherer) (*App, error) {
	a := &App{
		Pool:    pool,
		Users:   users.NewService(pool),
		Regions: regions.NewStore(pool),
		Catalog: catalog.NewStore(pool),
	}
	grants, err := a.Users.Grants(ctx)
	if err != nil {
		return nil, err
	}
	if a.Authz, err = policies.New(grants); err != nil {
		return nil, err
	}
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	}
	a.HTTP = httpapi.New(a.Authz, a.Users.AsAuthenticator(), logger, reg)
	a.HTTP.Register(
		httpapi.Route{Method: http.MethodGet, Path: "/healthz", Public: true, Handler: a.health},
		httpapi.MetricsRoute(gather),
	)
	a.HTTP.Register(a.Users.Routes()...)
	a.HTTP.Register(a.Regions.Routes()...)
	a.HTTP.Register(a.Catalog.Routes()...)
	return a, nil
}

// health answers 200 when the database answers, 503 otherwise, so a load
// balancer takes an instance out while its database is away.
func (a *App) health(c echo.Context) error {
	if err := a.Pool.Ping(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
