package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/catalog"
)

// The public 办事指南: an index of every matter and 一件事, and a page per
// code (with a printable .pdf twin). No account, readable on a phone.

type guideIndexData struct {
	Chains  []catalog.GuideEntry
	Matters []catalog.GuideEntry
	Q       string
}

func (p *Pages) guideIndex(c echo.Context) error {
	idx, err := p.Catalog.GuideIndex(c.Request().Context())
	if err != nil {
		return err
	}
	d := guideIndexData{Q: strings.TrimSpace(c.QueryParam("q"))}
	for _, e := range idx {
		if d.Q != "" && !strings.Contains(e.Name, d.Q) && !strings.EqualFold(e.Code, d.Q) {
			continue
		}
		if e.Kind == "chain" {
			d.Chains = append(d.Chains, e)
		} else {
			d.Matters = append(d.Matters, e)
		}
	}
	return p.Render(c, http.StatusOK, "guides", view{Title: "办事指南", Data: d})
}

// guideMatterView is one matter of a guide page.
type guideMatterView struct {
	catalog.Matter
	N             int // position in a chain, from 1
	LevelName     string
	Steps         []catalog.FlowStep
	FlowPublished bool
}

type guideData struct {
	catalog.GuideView
	Items []guideMatterView
}

func (p *Pages) guide(c echo.Context) error {
	code := c.Param("code")
	code, asPDF := strings.CutSuffix(code, ".pdf")
	g, err := p.Catalog.Guide(c.Request().Context(), code)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "guide", view{Title: "办事指南", Data: guideData{GuideView: catalog.GuideView{Code: code}}})
	} else if err != nil {
		return err
	}
	if asPDF {
		b, err := p.Documents.GuidePDF(c.Request().Context(), g)
		if err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", `inline; filename="guide-`+g.Code+`.pdf"`)
		// Public and the same for everyone: a proxy or CDN may keep it a while.
		c.Response().Header().Set("Cache-Control", "public, max-age=600")
		return c.Blob(http.StatusOK, "application/pdf", b)
	}
	d := guideData{GuideView: g}
	for i, m := range g.Matters {
		steps, pub := m.FlowOrDefault()
		d.Items = append(d.Items, guideMatterView{Matter: m, N: i + 1, LevelName: catalog.Level(m.Level).Name(), Steps: steps, FlowPublished: pub})
	}
	return p.Render(c, http.StatusOK, "guide", view{Title: g.Name + " · 办事指南", Data: d})
}
