package partners

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// AddRequest is the body of POST /api/v1/partners.
type AddRequest struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Webhook string `json:"webhook"`
}

// AddResponse carries the new partner and its key, shown this once.
type AddResponse struct {
	Partner Partner `json:"partner"`
	Key     string  `json:"key"`
}

// ListResponse lists the partners.
type ListResponse struct {
	Items []Partner `json:"items"`
}

// Routes returns the administrator's partner endpoints.
func (s *Store) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/partners", Obj: "partner", Act: "read", Handler: s.handleList,
			Doc: httpapi.Doc{Summary: "合作方列表（最近投递、失败次数、死信数）", Tag: "partners", Response: ListResponse{}}},
		{Method: http.MethodPost, Path: "/api/v1/partners", Obj: "partner", Act: "manage", Handler: s.handleAdd,
			Doc: httpapi.Doc{Summary: "添加合作方（密钥只在此应答中出现一次）", Tag: "partners", Request: AddRequest{}, Response: AddResponse{}, Status: http.StatusCreated}},
		{Method: http.MethodPost, Path: "/api/v1/partners/:name/revoke", Obj: "partner", Act: "manage", Handler: s.handleRevoke,
			Doc: httpapi.Doc{Summary: "吊销合作方密钥", Tag: "partners", Status: http.StatusNoContent, Errors: []string{daiban.EINVALIDTRANSITION}}},
	}
}

func (s *Store) handleList(c echo.Context) error {
	list, err := s.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ListResponse{Items: list})
}

func (s *Store) handleAdd(c echo.Context) error {
	var req AddRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	p, key, err := s.Add(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, req.Name, req.Kind, req.Webhook)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, AddResponse{Partner: p, Key: key})
}

func (s *Store) handleRevoke(c echo.Context) error {
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil || name == "" {
		return daiban.Invalid("name", "请指定合作方")
	}
	if err := s.Revoke(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
