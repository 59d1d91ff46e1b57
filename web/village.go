package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies/httpapi"
)

type villageData struct {
	Open, Done []deskItem
}

// village is the village agent's phone page: a button for a new errand
// and the agent's own errands, open ones first. Each errand opens the
// case page, where the agent records hand-overs of originals and adds
// progress.
func (p *Pages) village(c echo.Context) error {
	pr := httpapi.CurrentPrincipal(c)
	list, err := p.Cases.List(c.Request().Context(), cases.Filter{Scope: pr.Region, Username: pr.Username, OwnOnly: true, Limit: 100})
	if err != nil {
		return err
	}
	var d villageData
	for _, cs := range list {
		it := p.listItem(cs)
		if cs.State.Open() {
			d.Open = append(d.Open, it)
		} else {
			d.Done = append(d.Done, it)
		}
	}
	return p.Render(c, http.StatusOK, "village", view{Title: "我的代办", Data: d})
}
