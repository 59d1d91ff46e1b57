package regions

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/policies/httpapi"
)

// Routes returns the region endpoints.
func (s *Store) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/regions", Obj: "region", Act: "read", Handler: s.handleList},
	}
}

func (s *Store) handleList(c echo.Context) error {
	list, err := s.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": list})
}
