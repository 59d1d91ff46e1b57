package regions

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/policies/httpapi"
)

// Routes returns the region endpoints.
func (s *Store) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/regions", Obj: "region", Act: "read", Handler: s.handleList,
			Doc: httpapi.Doc{Summary: "地区（县、乡镇、村）列表", Response: listResponse{}}},
	}
}

func (s *Store) handleList(c echo.Context) error {
	list, err := s.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse{Items: list})
}

// listResponse lists the regions.
type listResponse struct {
	Items []Region `json:"items"`
}
