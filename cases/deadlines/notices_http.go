package deadlines

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Routes returns the notice endpoints. Every user reads only their own
// notices: another user's notice is simply not found.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/notices", Obj: "notice", Act: "read", Handler: s.handleNotices,
			Doc: httpapi.Doc{Summary: "我的通知（时限预警、督办、12345 投诉等），游标翻页", Query: noticesQuery{}, Response: NoticePage{}}},
		{Method: http.MethodPost, Path: "/api/v1/notices/:id/read", Obj: "notice", Act: "read", Handler: s.handleRead,
			Doc: httpapi.Doc{Summary: "标记通知已读", Response: Notice{}}},
	}
}

// NoticePage is one page of a user's notices, newest first.
// noticesQuery documents the notice list's query parameters.
type noticesQuery struct {
	Unread bool   `query:"unread" doc:"只看未读"`
	Cursor string `query:"cursor" doc:"上一页应答的 next_cursor"`
	Limit  int    `query:"limit" doc:"每页条数，1 至 200，默认 50"`
}

type NoticePage struct {
	Items      []Notice `json:"items"`
	Unread     int      `json:"unread"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Notices returns username's notices, newest first, before the notice id
// before (0: from the newest).
func (s *Service) Notices(ctx context.Context, username string, unreadOnly bool, before int64, limit int) (_ NoticePage, err error) {
	defer daiban.Wrap(&err, "deadlines: list notices of %s", username)
	p := dbsqlc.NoticeListParams{Recipient: username, UnreadOnly: unreadOnly, Lim: int32(limit)}
	if before > 0 {
		p.Before = &before
	}
	rows, err := s.q.NoticeList(ctx, s.pool, p)
	if err != nil {
		return NoticePage{}, err
	}
	unread, err := s.q.NoticeUnreadCount(ctx, s.pool, username)
	if err != nil {
		return NoticePage{}, err
	}
	out := NoticePage{Items: make([]Notice, 0, len(rows)), Unread: int(unread)}
	for _, r := range rows {
		out.Items = append(out.Items, noticeFromRow(r.ID, r.Recipient, r.CaseID, r.CaseNumber, r.Region, r.Kind, r.Deadline, r.Title, r.Body, r.CreatedAt, r.ReadAt, r.SentAt))
	}
	if len(rows) == limit && limit > 0 {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(rows[len(rows)-1].ID, 10)))
	}
	return out, nil
}

var errNoNotice = daiban.Errorf(daiban.ENOTFOUND, "通知不存在")

// MarkRead marks username's notice id read (again is harmless) and
// returns it.
func (s *Service) MarkRead(ctx context.Context, username string, id int64) (_ Notice, err error) {
	defer daiban.Wrap(&err, "deadlines: mark notice %d read", id)
	if _, err := s.q.NoticeMarkRead(ctx, s.pool, s.now(), id, username); errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, errNoNotice
	} else if err != nil {
		return Notice{}, err
	}
	r, err := s.q.NoticeGet(ctx, s.pool, id)
	if err != nil {
		return Notice{}, daiban.NoRows(err, "通知不存在")
	}
	return noticeFromRow(r.ID, r.Recipient, r.CaseID, r.CaseNumber, r.Region, r.Kind, r.Deadline, r.Title, r.Body, r.CreatedAt, r.ReadAt, r.SentAt), nil
}

func (s *Service) handleNotices(c echo.Context) error {
	qp := c.QueryParams()
	for k := range qp {
		switch k {
		case "unread", "cursor", "limit":
		default:
			return daiban.Invalid(k, "未知的查询参数 %s", k)
		}
	}
	unread := false
	switch qp.Get("unread") {
	case "", "false", "0":
	case "true", "1":
		unread = true
	default:
		return daiban.Invalid("unread", "unread 应为 true 或 false")
	}
	limit := 50
	if l := qp.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return daiban.Invalid("limit", "limit 应为 1 至 200")
		}
		limit = n
	}
	var before int64
	if cur := qp.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		n, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil || n <= 0 {
			return daiban.Invalid("cursor", "分页游标无效")
		}
		before = n
	}
	page, err := s.Notices(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, unread, before, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Service) handleRead(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNoNotice
	}
	n, err := s.MarkRead(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, n)
}
