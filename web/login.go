package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/users"
)

type loginData struct {
	Form *form
	Next string
}

func (p *Pages) loginPage(c echo.Context) error {
	f := publicForm(c, "login")
	next := c.QueryParam("next")
	if !localPath(next) {
		next = ""
	}
	return p.Render(c, http.StatusOK, "login", view{Title: "登录", Data: loginData{Form: f, Next: next}})
}

// login signs in from the form and keeps the session in an HttpOnly,
// SameSite=Lax cookie; the guard then asks for the session's CSRF token
// on every form post. The form itself carries the pre-session token
// (publicform.go): a sign-in form posted from another page would sign
// this browser in as someone else (login CSRF).
func (p *Pages) login(c echo.Context) error {
	f := postedPublicForm(c, "login")
	next := f.Value("next")
	if !localPath(next) {
		next = ""
	}
	data := loginData{Form: f, Next: next}
	if err := p.checkPublicForm(c); err != nil {
		return p.Render(c, refusePublic(f, err), "login", view{Title: "登录", Data: data})
	}
	username, password := strings.TrimSpace(f.Value("username")), f.Value("password")
	var err error
	switch {
	case username == "":
		err = daiban.Invalid("username", "请输入用户名")
	case password == "":
		err = daiban.Invalid("password", "请输入密码")
	}
	if err == nil {
		token, sess, lerr := p.Users.Login(c.Request().Context(), username, password, c.RealIP())
		if lerr == nil {
			c.SetCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
			if next == "" {
				next = homeOf(sess.User.Role)
			}
			return seeOther(c, next)
		}
		err = lerr
		users.SetRetryAfter(c, lerr)
	}
	f.Values.Del("password")
	status, ferr := f.fail(err, shownOn(same, []string{"username", "password"}))
	if ferr != nil {
		return ferr
	}
	return p.Render(c, status, "login", view{Title: "登录", Data: data})
}

// logout ends the session and clears the cookie.
func (p *Pages) logout(c echo.Context) error {
	pr := httpapi.CurrentPrincipal(c)
	if err := p.Users.Logout(c.Request().Context(), pr.Token); err != nil && daiban.ErrorCode(err) != daiban.EUNAUTHENTICATED {
		return err
	}
	c.SetCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
	setFlash(c, flash{Message: "已退出登录。"})
	return seeOther(c, "/login")
}

// home sends each role to where it works; the administrator, who has no
// case pages, gets a page of its own.
func (p *Pages) home(c echo.Context) error {
	pr := httpapi.CurrentPrincipal(c)
	if h := homeOf(pr.Role); h != "/" {
		return seeOther(c, h)
	}
	return p.Render(c, http.StatusOK, "home", view{Title: "首页"})
}
