package reports

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/regions"
)

// Routes returns the report endpoints (report:read, region-scoped):
//
//	GET /api/v1/reports/monthly?month=YYYY-MM&region=CODE      JSON
//	GET /api/v1/reports/monthly.pdf?month=YYYY-MM&region=CODE  PDF
//
// region defaults to the user's own region.
func (s *Service) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/api/v1/reports/monthly", Obj: "report", Act: "read", Scope: s.scope, Handler: s.handleJSON,
			Doc: httpapi.Doc{Summary: "每月调度报告（数据）", Query: monthlyQuery{}, Response: Report{}}},
		{Method: http.MethodGet, Path: "/api/v1/reports/monthly.pdf", Obj: "report", Act: "read", Scope: s.scope, Handler: s.handlePDF,
			Doc: httpapi.Doc{Summary: "每月调度报告（PDF）", Query: monthlyQuery{}, Produces: "application/pdf"}},
	}
}

// scope checks the query and finds the report's region for the guard: a
// malformed or unknown region, or a village, is 422; a region outside the
// user's own is 404, as for anything outside one's scope.
func (s *Service) scope(c echo.Context, p httpapi.Principal) (string, string, error) {
	for k := range c.QueryParams() {
		if k != "month" && k != "region" {
			return "", "", daiban.Invalid(k, "未知的查询参数 %s（可用 month、region）", k)
		}
	}
	code := c.QueryParam("region")
	if code == "" {
		code = p.Region
	}
	reg, err := s.Region(c.Request().Context(), code)
	if err != nil {
		return "", "", err
	}
	if !policies.RegionContains(p.Region, reg.Code) {
		return "", "", httpapi.ErrNotFound
	}
	c.Set("report_region", reg)
	return reg.Code, policies.RelAny, nil
}

// monthlyQuery documents the report's query parameters.
type monthlyQuery struct {
	Month  string `query:"month,required" doc:"月份 YYYY-MM"`
	Region string `query:"region" doc:"地区代码（默认本人管辖范围）"`
}

func (s *Service) report(c echo.Context) (Report, error) {
	reg, ok := c.Get("report_region").(regions.Region)
	if !ok {
		return Report{}, daiban.Errorf(daiban.EINTERNAL, "report region not scoped")
	}
	now := s.Now()
	start, err := ParseMonth(c.QueryParam("month"), now)
	if err != nil {
		return Report{}, err
	}
	return s.Build(c.Request().Context(), reg, start, now)
}

func (s *Service) handleJSON(c echo.Context) error {
	rep, err := s.report(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.JSON(http.StatusOK, rep)
}

func (s *Service) handlePDF(c echo.Context) error {
	rep, err := s.report(c)
	if err != nil {
		return err
	}
	pdf, err := s.PDF(c.Request().Context(), rep)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Disposition", httpapi.ContentDisposition("attachment", FileName(rep), rep.Title+".pdf"))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// FileName is a report's ASCII file name, e.g. report-370323-2026-10.pdf.
func FileName(rep Report) string {
	return "report-" + rep.Region.Code + "-" + rep.Month + ".pdf"
}
