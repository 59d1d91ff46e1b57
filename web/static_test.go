package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/policies/httpapi"
)

// TestStaticListsNothing: the static files are served, their directory
// is not listed.
func TestStaticListsNothing(t *testing.T) {
	t.Parallel()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { _ = c.NoContent(httpapi.Status(err)) }
	e.GET("/static/*", staticFiles())
	for path, want := range map[string]int{
		"/static/style.css":          http.StatusOK,
		"/static/app.js":             http.StatusOK,
		"/static/village.js":         http.StatusOK,
		"/static/village-sw.js":      http.StatusNotFound,
		"/static/":                   http.StatusNotFound,
		"/static/.":                  http.StatusNotFound,
		"/static/style.css/":         http.StatusNotFound,
		"/static/index.html":         http.StatusNotFound,
		"/static/%2e%2e/":            http.StatusNotFound,
		"/static/../templates/":      http.StatusNotFound,
		"/static/nothing-here.css":   http.StatusNotFound,
		"/static/..%2ftemplates%2f":  http.StatusNotFound,
		"/static/%2e/%2e/style.css/": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d (%.80s)", path, rec.Code, want, rec.Body.String())
		}
	}
}
