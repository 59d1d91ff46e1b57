package httpapi

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
)

var (
	errForbidden = daiban.Errorf(daiban.EFORBIDDEN, "无权执行此操作")
	errCSRF      = daiban.Errorf(daiban.EFORBIDDEN, "表单已失效，请刷新页面后重试")
	// ErrNotFound answers a resource that does not exist and one outside
	// the user's region alike, so that nobody learns what exists elsewhere.
	ErrNotFound = daiban.Errorf(daiban.ENOTFOUND, "未找到：不存在，或不在您的管辖范围内")
)

// guard is the single decision point of a route: sign-in, CSRF for cookie
// sessions, the role permission (403) and the region scope of the resource
// (404, so nothing outside a user's scope is shown to exist).
func (s *Server) guard(rt Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if rt.Public {
				return next(c)
			}
			p, err := s.authenticate(c)
			if err != nil {
				s.deny(c, "unauthenticated", "", "")
				return err
			}
			c.Set("principal", p)
			c.Set("server", s)
			if p.ViaCookie && !safeMethod(c.Request().Method) && !s.csrfOK(c, p) {
				s.deny(c, "csrf", p.Username, "")
				return errCSRF
			}
			s.syncGrant(p)
			act := rt.Act
			if rt.ActParam != "" {
				act = c.Param(rt.ActParam)
				if !Known(rt.Obj, act) {
					return daiban.Invalid(rt.ActParam, "未知操作 %q", act)
				}
			}
			if !s.authz.RoleMay(p.Username, rt.Obj, act) {
				s.deny(c, "role", p.Username, rt.Obj+":"+act)
				return errForbidden
			}
			// Without a resource (lists, creation, regionless objects) the
			// role permission is the whole decision; lists are scoped in SQL
			// and creation checks its target region in the handler.
			if rt.Scope != nil {
				region, rel, err := rt.Scope(c, p)
				if err != nil {
					if daiban.ErrorCode(err) == daiban.ENOTFOUND {
						s.deny(c, "not_found", p.Username, rt.Obj+":"+act)
					}
					return err
				}
				if err := s.decide(c, p, region, rt.Obj, act, rel); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}

// Authorize decides a permission inside a handler, for resources whose
// region is only known from the request body (opening a case in a region).
// It follows the guard's rules: 404 when the user may not even read there,
// 403 when the user may read but not do act.
func Authorize(c echo.Context, region, obj, act, rel string) error {
	s, ok := c.Get("server").(*Server)
	if !ok {
		return daiban.Errorf(daiban.EINTERNAL, "authorize outside a guarded route")
	}
	return s.decide(c, CurrentPrincipal(c), region, obj, act, rel)
}

func (s *Server) decide(c echo.Context, p Principal, region, obj, act, rel string) error {
	if s.authz.Allow(p.Username, region, obj, act, rel) {
		return nil
	}
	if Known(obj, "read") && !s.authz.Allow(p.Username, region, obj, "read", rel) && region != "" {
		s.deny(c, "scope", p.Username, obj+":"+act)
		return ErrNotFound
	}
	s.deny(c, "scope_role", p.Username, obj+":"+act)
	return errForbidden
}

func (s *Server) authenticate(c echo.Context) (Principal, error) {
	r := c.Request()
	token, cookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Principal{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "登录凭据格式不对，请重新登录")
		}
		token = strings.TrimSpace(rest)
	} else if ck, err := r.Cookie(SessionCookie); err == nil {
		token, cookie = ck.Value, true
	}
	if token == "" {
		return Principal{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "请先登录")
	}
	p, err := s.auth.Authenticate(r.Context(), token)
	if err != nil {
		return Principal{}, err
	}
	p.Token, p.ViaCookie = token, cookie
	return p, nil
}

// csrfOK checks a cookie-authenticated unsafe request: a browser saying the
// request is cross-site is refused outright; otherwise the session's CSRF
// token must come back in the header or the form.
func (s *Server) csrfOK(c echo.Context, p Principal) bool {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return false
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			got = c.FormValue(CSRFField)
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.CSRFToken)) == 1
}

// syncGrant keeps the authorizer in step with the users table: the session
// lookup read the user's role and region afresh, so a change made by any
// instance (or the command line) applies to the very next request.
func (s *Server) syncGrant(p Principal) {
	g, ok := s.authz.Grant(p.Username)
	if ok && g.Role == p.Role && g.Region == p.Region {
		return
	}
	if err := s.authz.SetGrant(policies.Grant{Username: p.Username, Role: p.Role, Region: p.Region}); err != nil {
		s.logger.Error("updating grant", "user", p.Username, "err", err.Error())
	}
}

func (s *Server) deny(c echo.Context, reason, user, perm string) {
	s.denied.WithLabelValues(reason).Inc()
	s.logger.Warn("request denied", "request_id", RequestID(c), "reason", reason, "user", user, "permission", perm,
		"method", c.Request().Method, "route", c.Path(), "remote", c.RealIP())
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// known holds every (obj, act) of policy.csv; an act outside it is a bad
// request, not a permission question.
var known = func() map[[2]string]bool {
	m := map[[2]string]bool{}
	for _, p := range policies.Permissions() {
		m[p] = true
	}
	return m
}()

// Known reports whether obj:act appears in the policy.
func Known(obj, act string) bool { return known[[2]string{obj, act}] }
