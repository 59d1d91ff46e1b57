package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/policies/httpapi"
)

// noticesPageSize is how many notices the inbox shows at a time.
const noticesPageSize = 50

type noticesData struct {
	Items  []deadlines.Notice
	Unread int
	// Older is the address of the next, older page ("" when none).
	Older string
}

// notices is the signed-in user's inbox: deadline warnings, 督办 notices
// and notes, newest first, each with a link to its case and a button to
// mark it read (and one for all).
func (p *Pages) notices(c echo.Context) error {
	var before int64
	if b := c.QueryParam("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return daiban.Invalid("before", "页码无效，请从通知列表重新打开")
		}
		before = n
	}
	page, err := p.Notices.Notices(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, false, before, noticesPageSize)
	if err != nil {
		return err
	}
	d := noticesData{Items: page.Items, Unread: page.Unread}
	if page.NextCursor != "" {
		d.Older = "/notices?before=" + strconv.FormatInt(page.Items[len(page.Items)-1].ID, 10)
	}
	return p.Render(c, http.StatusOK, "notices", view{Title: "通知", Data: d})
}

// noticeRead marks one of the user's notices read; another user's notice
// is not found.
func (p *Pages) noticeRead(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return daiban.Errorf(daiban.ENOTFOUND, "通知不存在")
	}
	if _, err := p.Notices.MarkRead(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, id); err != nil {
		return err
	}
	return seeOther(c, "/notices")
}

// noticesReadAll marks every notice of the user read.
func (p *Pages) noticesReadAll(c echo.Context) error {
	n, err := p.Notices.MarkAllRead(c.Request().Context(), httpapi.CurrentPrincipal(c).Username)
	if err != nil {
		return err
	}
	setFlash(c, flash{Kind: "ok", Message: "已将 " + strconv.Itoa(n) + " 条通知标为已读"})
	return seeOther(c, "/notices")
}
