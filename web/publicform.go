package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// The public forms (sign-in, the applicant's rating on the tracking page)
// are posted before there is a session, so the guard's session token
// cannot protect them. Without protection a page of another site — or of
// a sibling host of the same site, which Sec-Fetch-Site calls same-site —
// could post the sign-in form and sign the browser in as the attacker
// (login CSRF), or rate a case in the applicant's name.
//
// Each public form therefore carries a pre-session token: a random value
// kept in a short-lived HttpOnly, SameSite=Strict cookie and repeated in
// the form's hidden field (or the X-CSRF-Token header, which no other
// site can set) — double submit, compared in constant time.
// Over HTTPS the cookie has the __Host- prefix, so a sibling host cannot
// plant one of its own. When the browser names the Origin of the post, it
// must be this site: the configured base URL or the host the request was
// sent to.

const (
	formCookie = "daiban_form"
	// formTokenAge is how long a public form stays valid once shown.
	formTokenAge = 2 * time.Hour
	formTokenLen = 32
)

var errFormStale = daiban.Errorf(daiban.EFORBIDDEN, "表单已失效，请刷新页面后重试")

// formCookieName is the cookie's name: __Host- prefixed over HTTPS.
func formCookieName(c echo.Context) string {
	if c.Scheme() == "https" {
		return "__Host-" + formCookie
	}
	return formCookie
}

// publicToken returns this browser's pre-session form token, setting the
// cookie when the browser has none (or a malformed one).
func publicToken(c echo.Context) string {
	if ck, err := c.Cookie(formCookieName(c)); err == nil && validFormToken(ck.Value) {
		return ck.Value
	}
	b := make([]byte, formTokenLen)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{Name: formCookieName(c), Value: tok, Path: "/", MaxAge: int(formTokenAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
	return tok
}

func validFormToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == formTokenLen
}

// publicForm is a public form for its page, with the browser's token.
func publicForm(c echo.Context, name string) *form {
	return blankForm(name, publicToken(c))
}

// postedPublicForm is a posted public form for showing it again, with a
// token that is good for the next try (a fresh one when the browser had
// none).
func postedPublicForm(c echo.Context, name string) *form {
	f := postedForm(c, name)
	f.CSRF = publicToken(c)
	return f
}

// checkPublicForm refuses a public form post that was not sent from this
// site's own page: a foreign Origin, a cross-site fetch, or a missing or
// wrong pre-session token.
func (p *Pages) checkPublicForm(c echo.Context) error {
	r := c.Request()
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" || !p.sameOrigin(r) {
		return errFormStale
	}
	ck, err := r.Cookie(formCookieName(c))
	if err != nil || !validFormToken(ck.Value) {
		return errFormStale
	}
	got := r.Header.Get(httpapi.CSRFHeader) // as the guard takes it, for scripts
	if got == "" {
		got = c.FormValue(httpapi.CSRFField)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		return errFormStale
	}
	return nil
}

// sameOrigin reports whether the request's Origin, when the browser sent
// one, is this site. Without it (older browsers) the token decides alone.
func (p *Pages) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if b, err := url.Parse(p.BaseURL); err == nil && b.Host != "" && o == b.Scheme+"://"+b.Host {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Path != "" || u.RawQuery != "" {
		return false
	}
	// The scheme is not compared: behind a proxy that ends TLS the request
	// arrives over HTTP for an https origin.
	return u.Host != "" && u.Host == r.Host
}

// refusePublic shows a public form again after checkPublicForm refused
// it, with the reason at the top and a token for the next try.
func refusePublic(f *form, err error) int {
	f.Values.Del("password")
	f.Errors[""] = daiban.ErrorMessage(err)
	return http.StatusForbidden
}
