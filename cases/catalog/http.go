package catalog

import (
	"context"
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
		// 办事指南: public, for applicants (no account).
		{Method: http.MethodGet, Path: "/api/v1/guides", Public: true, Handler: s.handleGuides,
			Doc: httpapi.Doc{Summary: "办事指南目录（先列一件事，再列单个事项）", Response: guidesResponse{}}},
		{Method: http.MethodGet, Path: "/api/v1/guides/:code", Public: true, Handler: s.handleGuide,
			Doc: httpapi.Doc{Summary: "办事指南：事项或一件事的材料、时限、部门与投诉渠道", Response: GuideView{}}},
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

func (s *Store) handleGuide(c echo.Context) error {
	g, err := s.Guide(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

// GuideEntry is one line of the guides' index.
type GuideEntry struct {
	Kind       string `json:"kind"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Department string `json:"department,omitempty"`
	LimitDays  int    `json:"limit_days,omitempty"`
}

// GuideIndex lists every chain, then every matter.
func (s *Store) GuideIndex(ctx context.Context) ([]GuideEntry, error) {
	chains, err := s.Chains(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]GuideEntry, 0, len(chains)+len(list))
	for _, ch := range chains {
		out = append(out, GuideEntry{Kind: "chain", Code: ch.Code, Name: ch.Name})
	}
	for _, m := range list {
		out = append(out, GuideEntry{Kind: "matter", Code: m.Code, Name: m.Name, Department: m.Department, LimitDays: m.LimitDays})
	}
	return out, nil
}

func (s *Store) handleGuides(c echo.Context) error {
	idx, err := s.GuideIndex(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, guidesResponse{Items: idx})
}

// guidesResponse is the guides' index.
type guidesResponse struct {
	Items []GuideEntry `json:"items"`
}
