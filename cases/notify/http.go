package notify

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// DeadResponse lists the dead letters.
type DeadResponse struct {
	Items []DeadLetter `json:"items"`
}

// Routes returns the administrator's outbox endpoints: the dead letters
// and their resend.
func (s *Service) Routes(record func(ctx context.Context, db dbsqlc.DBTX, actor, region, typ string, payload any) error) []httpapi.Route {
	resend := func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id <= 0 {
			return httpapi.ErrNotFound
		}
		err = s.Resend(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, id, func(ctx context.Context, db dbsqlc.DBTX, actor string, p map[string]any) error {
			return record(ctx, db, actor, "", "notification.resent", p)
		})
		if err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/notifications/dead", Obj: "partner", Act: "read", Handler: s.handleDead,
			Doc: httpapi.Doc{Summary: "投递失败（重试用尽）的通知", Tag: "partners", Response: DeadResponse{}}},
		{Method: http.MethodPost, Path: "/api/v1/notifications/:id/resend", Obj: "partner", Act: "manage", Handler: resend,
			Doc: httpapi.Doc{Summary: "重发一条投递失败的通知", Tag: "partners", Status: http.StatusNoContent, Errors: []string{daiban.EINVALIDTRANSITION}}},
	}
}

func (s *Service) handleDead(c echo.Context) error {
	list, err := s.Dead(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, DeadResponse{Items: list})
}
