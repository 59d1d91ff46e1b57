package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
)

// staticFiles serves the embedded static files, and nothing else: a
// directory (/static/, or any path ending in "/") is not found rather
// than listed, and so is index.html, the file server's stand-in for one.
func staticFiles() echo.HandlerFunc {
	static, _ := fs.Sub(staticFS, "static")
	files := echo.WrapHandler(http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(p, "/static/")), "/")
		// The village app's service worker is served (with its build) at
		// /village/sw.js only.
		if st, err := fs.Stat(static, name); err != nil || st.IsDir() || strings.HasSuffix(p, "/") || path.Base(name) == "index.html" || name == "village-sw.js" {
			return daiban.Errorf(daiban.ENOTFOUND, "未找到")
		}
		if name == "favicon.svg" {
			// Browsers fetch a page's icon outside its service worker: a
			// day in the HTTP cache spares the village app an error without
			// signal.
			c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		}
		return files(c)
	}
}
