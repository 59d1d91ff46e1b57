// Package httpapi is the HTTP front of daiban: the route table every
// handler is registered through, the guard that authenticates and authorizes
// every request in one place, strict JSON binding, the error envelope of the
// contract, request ids, structured logs and metrics.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
)

// Principal is the signed-in staff user of a request.
type Principal struct {
	Username  string
	Name      string
	Role      policies.Role
	Region    string
	CSRFToken string
	ExpiresAt time.Time
	Token     string // the bearer or cookie token of this request
	ViaCookie bool
}

// Authenticator resolves a session token to its principal; it must read the
// user's role and region afresh so that changes take effect at once.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// ScopeFunc locates the resource of a request: its region and how the
// principal relates to it (policies.RelOwn or policies.RelAny). It returns a
// not_found error when the resource does not exist.
type ScopeFunc func(c echo.Context, p Principal) (region, rel string, err error)

// Route is one endpoint and the permission it needs. Every endpoint is
// registered through a Route, so the guard decides every request and a test
// can check that every route has a policy entry.
type Route struct {
	Method string
	Path   string
	// Public routes need no sign-in (health, metrics, public verification).
	Public bool
	// Obj and Act name the permission in policies/policy.csv. When ActParam
	// is set the act is taken from that path parameter (case actions).
	Obj, Act string
	ActParam string
	// Scope, when set, finds the resource's region for the region check.
	Scope   ScopeFunc
	Handler echo.HandlerFunc
	// MaxBody is the largest request body the route takes, checked before
	// anything else (limits.go); 0 means PublicBody for public routes and
	// MaxBody for signed-in ones. TooLarge, when set, is the message of
	// the refusal.
	MaxBody  int64
	TooLarge string
	// Doc describes an /api/v1 route in the OpenAPI document (openapi.go):
	// a Chinese summary and the Go types of its body and answer. A route
	// under /api/v1 without one fails the tests.
	Doc Doc
}

// Server is the HTTP server.
type Server struct {
	Echo   *echo.Echo
	authz  *policies.Authorizer
	auth   Authenticator
	logger *slog.Logger
	routes []Route

	requests *prometheus.HistogramVec
	denied   *prometheus.CounterVec
}

// Cookie names of the web UI session.
const (
	SessionCookie = "daiban_session"
	CSRFHeader    = "X-CSRF-Token"
	CSRFField     = "csrf_token"
)

// New returns a server with the middleware chain installed and no routes.
func New(authz *policies.Authorizer, auth Authenticator, logger *slog.Logger, reg prometheus.Registerer) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// Client addresses come from the connection; a proxy in front must be
	// configured explicitly, or X-Forwarded-For would let anyone dodge the
	// sign-in throttle.
	e.IPExtractor = echo.ExtractIPDirect()
	s := &Server{Echo: e, authz: authz, auth: auth, logger: logger}
	s.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "daiban_http_request_duration_seconds",
		Help:    "HTTP request latency by route, method and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "status"})
	s.denied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "daiban_http_denied_total",
		Help: "Requests refused by the guard, by reason.",
	}, []string{"reason"})
	if reg != nil {
		reg.MustRegister(s.requests, s.denied)
	}
	e.HTTPErrorHandler = s.handleError
	e.Use(s.recover, s.observe)
	return s
}

// Register adds routes to the server.
func (s *Server) Register(routes ...Route) {
	for _, rt := range routes {
		if rt.Handler == nil || (!rt.Public && rt.Obj == "") {
			panic("httpapi: route " + rt.Method + " " + rt.Path + " has no handler or no permission")
		}
		s.routes = append(s.routes, rt)
		s.Echo.Add(rt.Method, rt.Path, rt.Handler, s.limit(rt), s.guard(rt))
	}
}

// Routes returns the registered routes.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// RequestID returns the id of the current request.
func RequestID(c echo.Context) string {
	id, _ := c.Get("request_id").(string)
	return id
}

// CurrentPrincipal returns the signed-in user of a guarded request.
func CurrentPrincipal(c echo.Context) Principal {
	p, _ := c.Get("principal").(Principal)
	return p
}

func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("panic in handler", "request_id", RequestID(c), "route", c.Path(), "panic", r)
				err = daiban.Errorf(daiban.EINTERNAL, "internal")
			}
		}()
		return next(c)
	}
}

// observe assigns the request id and writes one log line and one metric per
// request. It logs the route template, never the raw URL or body, so query
// strings with names or ID numbers stay out of the logs.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set("request_id", id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		err := next(c)
		if err != nil {
			s.handleError(err, c)
		}
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		dur := time.Since(start)
		s.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(dur.Seconds())
		attrs := []any{"request_id", id, "method", c.Request().Method, "route", route, "status", status, "duration_ms", float64(dur.Microseconds()) / 1000}
		if p := CurrentPrincipal(c); p.Username != "" {
			attrs = append(attrs, "user", p.Username)
		}
		s.logger.Info("request", attrs...)
		return nil
	}
}

func validRequestID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           s.Echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
