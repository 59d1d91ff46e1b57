package catalog

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/policies/httpapi"
)

// Routes returns the catalog endpoints.
func (s *Store) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/matters", Obj: "matter", Act: "read", Handler: s.handleList,
			Doc: httpapi.Doc{Summary: "事项目录与一件事（链条）", Response: listResponse{}}},
		{Method: http.MethodGet, Path: "/api/v1/matters/:code", Obj: "matter", Act: "read", Handler: s.handleGet,
			Doc: httpapi.Doc{Summary: "事项详情（材料、时限、部门）", Response: Matter{}}},
	}
}

func (s *Store) handleList(c echo.Context) error {
	ctx := c.Request().Context()
	list, err := s.List(ctx)
	if err != nil {
		return err
	}
	chains, err := s.Chains(ctx)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse{Items: list, Chains: chains})
}

// listResponse is the catalog: the matters and the chains (一件事).
type listResponse struct {
	Items  []Matter `json:"items"`
	Chains []Chain  `json:"chains"`
}

func (s *Store) handleGet(c echo.Context) error {
	m, err := s.Get(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}
