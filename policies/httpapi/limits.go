package httpapi

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
)

// Request limits checked before anything else a route does: before the
// guard looks a session up, before a handler parses a body or runs a
// query. They are the cheapest checks there are, so a request that fails
// them costs the server nothing worth attacking.
const (
	// PublicBody is the default body limit of public routes (sign-in,
	// tracking, verification): their forms are a few short fields.
	PublicBody = 64 << 10
	// maxParam bounds a path parameter (ids, codes, usernames, tokens).
	maxParam = 256
	// maxQuery bounds one query-string value (searches, filters, cursors,
	// the next= path after sign-in).
	maxQuery = 2048
)

var (
	errTooLarge  = daiban.Errorf(daiban.ETOOLARGE, "提交的内容过多，请删减后重试")
	errMultipart = daiban.Invalid("body", "此处不接受上传文件，请直接填写后提交")
	errBadForm   = daiban.Invalid("body", "提交的表单无法识别，请刷新页面后重试")
)

// bodyLimit is the route's MaxBody, or its default: PublicBody for public
// routes, MaxBody for signed-in ones.
func (rt Route) bodyLimit() int64 {
	switch {
	case rt.MaxBody > 0:
		return rt.MaxBody
	case rt.Public:
		return PublicBody
	}
	return MaxBody
}

// limit is the first middleware of every route. In order: the declared
// body size (Content-Length) against the route's limit; every path
// parameter and query value as text the database accepts; no multipart
// bodies (no route takes uploads, and parsing one spools files to disk);
// then the body itself, read up to the limit when its size was not
// declared, and a form body's values checked like the query.
func (s *Server) limit(rt Route) echo.MiddlewareFunc {
	max := rt.bodyLimit()
	tooLarge := errTooLarge
	if rt.TooLarge != "" {
		tooLarge = daiban.Errorf(daiban.ETOOLARGE, "%s", rt.TooLarge)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > max {
				s.deny(c, "body_too_large", "", "")
				return tooLarge
			}
			if err := checkURL(c); err != nil {
				return err
			}
			if multipart(r) {
				return errMultipart
			}
			if err := s.readBody(c, max, tooLarge); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// readBody puts the body under the limit. A body of undeclared size
// (chunked) is read here, up to the limit, so that an oversized one is
// refused with the same answer as a declared one rather than failing
// half-way through a handler. A form body is parsed and its values
// checked.
func (s *Server) readBody(c echo.Context, max int64, tooLarge error) error {
	r := c.Request()
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, max)
	if r.ContentLength < 0 {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.deny(c, "body_too_large", "", "")
				return tooLarge
			}
			return errBadForm
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	if mediaType(r) != "application/x-www-form-urlencoded" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge
		}
		return errBadForm
	}
	for name, vs := range r.PostForm {
		if err := Text(name, name, 0); err != nil {
			return err
		}
		for _, v := range vs {
			if err := Text(name, v, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURL checks every path parameter and query value: valid UTF-8, no
// NUL byte (PostgreSQL refuses both, which would be a 500) and a bounded
// length.
func checkURL(c echo.Context) error {
	// The decoded path as a whole: a parameter keeps its escapes when the
	// client's escaping differs from Go's (%ff rather than %FF), and
	// handlers outside echo (the static files) read the decoded path.
	if err := Text("path", c.Request().URL.Path, 0); err != nil {
		return err
	}
	names := c.ParamNames()
	for i, v := range c.ParamValues() {
		name := ""
		if i < len(names) {
			name = names[i]
		}
		if err := Text(name, v, maxParam); err != nil {
			return err
		}
	}
	if c.Request().URL.RawQuery == "" {
		return nil
	}
	for name, vs := range c.QueryParams() {
		if err := Text(name, name, maxQuery); err != nil {
			return err
		}
		for _, v := range vs {
			if err := Text(name, v, maxQuery); err != nil {
				return err
			}
		}
	}
	return nil
}

// Text checks one input string before it goes anywhere near a query:
// valid UTF-8, no NUL byte and, when maxBytes > 0, at most maxBytes
// bytes. The error is a 422 naming field. Handlers use it for the values
// they bound more tightly than the route does (a username at sign-in).
func Text(field, v string, maxBytes int) error {
	if maxBytes > 0 && len(v) > maxBytes {
		return daiban.Invalid(field, "输入的内容过长，请删减后重新输入")
	}
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		return daiban.Invalid(field, "输入的内容含有无法识别的字符，请检查后重新输入")
	}
	return nil
}

// multipart reports whether the body claims to be multipart, however
// malformed its parameters.
func multipart(r *http.Request) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type"))), "multipart/")
}

// mediaType is the request's content type without parameters, "" when
// absent or malformed.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}
