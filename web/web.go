// Package web serves daiban's pages: server-rendered HTML in Simplified
// Chinese with embedded templates and assets (no external network). This
// file holds the public pages: document verification, applicant tracking
// and the tablet signing page.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/documents"
	"github.com/daiban/daiban/httpapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Pages renders the pages.
type Pages struct {
	center string
	cases  *cases.Service
	docs   *documents.Service
	pages  map[string]*template.Template
}

// Page names; each is layout.html plus its own file.
var pageNames = []string{"verify", "track", "sign"}

// New parses every template once at start-up.
func New(center string, cs *cases.Service, docs *documents.Service) (*Pages, error) {
	p := &Pages{center: center, cases: cs, docs: docs, pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

// Routes returns the public pages and the static assets.
func (p *Pages) Routes() []httpapi.Route {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/static/*", Public: true, Handler: echo.WrapHandler(files)},
		{Method: http.MethodGet, Path: "/verify/:key", Public: true, Handler: p.verify},
		{Method: http.MethodGet, Path: "/track/:code", Public: true, Handler: p.track},
		{Method: http.MethodGet, Path: "/sign/:token", Public: true, Handler: p.sign},
	}
}

// view is what every page template gets.
type view struct {
	Title  string
	Center string
	Token  string
	Error  string
	Data   any
}

// Render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (p *Pages) Render(c echo.Context, status int, name string, v view) error {
	v.Center = p.center
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

func (p *Pages) verify(c echo.Context) error {
	v, err := p.docs.Verify(c.Request().Context(), c.Param("key"))
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "verify", view{Title: "文书核验"})
	} else if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "verify", view{Title: "文书核验", Data: v})
}

func (p *Pages) track(c echo.Context) error {
	cs, err := p.cases.Track(c.Request().Context(), c.Param("code"))
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "track", view{Title: "办件进度查询"})
	} else if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "track", view{Title: "办件进度查询", Data: cases.Track(cs)})
}

func (p *Pages) sign(c echo.Context) error {
	info, err := p.docs.SignInfo(c.Request().Context(), c.Param("token"))
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "sign", view{Title: "签署", Error: daiban.ErrorMessage(err)})
	} else if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "sign", view{Title: info.Title, Token: c.Param("token"), Data: info})
}
