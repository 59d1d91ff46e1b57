package users

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// AsAuthenticator adapts the service to the HTTP guard.
func (s *Service) AsAuthenticator() httpapi.Authenticator { return authenticator{s} }

type authenticator struct{ s *Service }

func (a authenticator) Authenticate(ctx context.Context, token string) (httpapi.Principal, error) {
	sess, err := a.s.Authenticate(ctx, token)
	if err != nil {
		return httpapi.Principal{}, err
	}
	u := sess.User
	return httpapi.Principal{Username: u.Username, Name: u.Name, Role: u.Role, Region: u.Region, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt}, nil
}

// meResponse is the signed-in user and when the session ends.
type meResponse struct {
	User      User   `json:"user"`
	ExpiresAt string `json:"expires_at"`
}

// listResponse lists users.
type listResponse struct {
	Items []User `json:"items"`
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	User      User   `json:"user"`
}

// Routes returns the sign-in and user administration endpoints.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/api/v1/login", Public: true, Handler: s.handleLogin,
			Doc: httpapi.Doc{Summary: "登录，取得令牌", Request: loginRequest{}, Response: loginResponse{}, Errors: []string{daiban.ETOOMANYREQUESTS}}},
		{Method: http.MethodPost, Path: "/api/v1/logout", Obj: "session", Act: "me", Handler: s.handleLogout,
			Doc: httpapi.Doc{Summary: "退出登录（令牌作废）", Status: http.StatusNoContent}},
		{Method: http.MethodGet, Path: "/api/v1/me", Obj: "session", Act: "me", Handler: s.handleMe,
			Doc: httpapi.Doc{Summary: "当前用户", Response: meResponse{}}},
		{Method: http.MethodGet, Path: "/api/v1/users", Obj: "user", Act: "read", Handler: s.handleList,
			Doc: httpapi.Doc{Summary: "用户列表（本人管辖范围内）", Response: listResponse{}}},
		{Method: http.MethodPost, Path: "/api/v1/users", Obj: "user", Act: "manage", Handler: s.handleCreate,
			Doc: httpapi.Doc{Summary: "新建用户", Request: createRequest{}, Response: User{}, Status: http.StatusCreated}},
		{Method: http.MethodGet, Path: "/api/v1/users/:username", Obj: "user", Act: "read", Scope: s.scope, Handler: s.handleGet,
			Doc: httpapi.Doc{Summary: "用户详情", Response: User{}}},
		{Method: http.MethodPatch, Path: "/api/v1/users/:username", Obj: "user", Act: "manage", Scope: s.scope, Handler: s.handleUpdate,
			Doc: httpapi.Doc{Summary: "修改用户（角色、地区、姓名、停用、重设密码）", Request: Update{}, Response: User{}}},
	}
}

func (s *Service) scope(c echo.Context, _ httpapi.Principal) (string, string, error) {
	u, err := s.Get(c.Request().Context(), c.Param("username"))
	if err != nil {
		return "", "", err
	}
	return u.Region, "any", nil
}

func (s *Service) handleLogin(c echo.Context) error {
	var req loginRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	if req.Username == "" {
		return daiban.Invalid("username", "请输入用户名")
	}
	if req.Password == "" {
		return daiban.Invalid("password", "请输入密码")
	}
	token, sess, err := s.Login(c.Request().Context(), req.Username, req.Password, c.RealIP())
	if err != nil {
		SetRetryAfter(c, err)
		return err
	}
	return c.JSON(http.StatusOK, loginResponse{Token: token, ExpiresAt: sess.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"), User: sess.User})
}

func (s *Service) handleLogout(c echo.Context) error {
	p := httpapi.CurrentPrincipal(c)
	if err := s.Logout(c.Request().Context(), p.Token); err != nil {
		return err
	}
	if p.ViaCookie {
		c.SetCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) handleMe(c echo.Context) error {
	p := httpapi.CurrentPrincipal(c)
	u, err := s.Get(c.Request().Context(), p.Username)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, meResponse{User: u, ExpiresAt: p.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")})
}

func (s *Service) handleList(c echo.Context) error {
	p := httpapi.CurrentPrincipal(c)
	list, err := s.List(c.Request().Context(), p.Region)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse{Items: list})
}

func (s *Service) handleGet(c echo.Context) error {
	u, err := s.Get(c.Request().Context(), c.Param("username"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

type createRequest struct {
	Username string        `json:"username"`
	Name     string        `json:"name"`
	Role     policies.Role `json:"role"`
	Region   string        `json:"region"`
	Password string        `json:"password"`
}

func (s *Service) handleCreate(c echo.Context) error {
	var req createRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	p := httpapi.CurrentPrincipal(c)
	if !policies.RegionContains(p.Region, req.Region) {
		return daiban.Invalid("region", "地区 %q 不在您的管辖范围内", req.Region)
	}
	u, err := s.Create(c.Request().Context(), actorOf(p), NewUser(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (s *Service) handleUpdate(c echo.Context) error {
	var req Update
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	p := httpapi.CurrentPrincipal(c)
	if req.Region != nil && !policies.RegionContains(p.Region, *req.Region) {
		return daiban.Invalid("region", "地区 %q 不在您的管辖范围内", *req.Region)
	}
	u, err := s.Update(c.Request().Context(), actorOf(p), c.Param("username"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}

// actorOf is the signed-in user as the actor of an account change.
func actorOf(p httpapi.Principal) Actor { return Actor{Username: p.Username, Role: p.Role} }

// SetRetryAfter sets the Retry-After header of a throttled sign-in (the
// API's and the sign-in page's); other errors leave the response alone.
func SetRetryAfter(c echo.Context, err error) {
	if v := RetryAfterSeconds(err); v != "" {
		c.Response().Header().Set("Retry-After", v)
	}
}
