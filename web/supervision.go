package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cases/reports"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/regions"
)

// townRow is one township's figures on the dashboard.
type townRow struct {
	Code, Name                           string
	Total, Open, Overdue, Escalated      int
	HandedOver, OnTime, Rated, RatingSum int
	Ratings                              [5]int // count of ratings 1..5
}

// OnTimeRate is the share of handed-over cases closed by their due date
// (-1: none handed over yet).
func (r townRow) OnTimeRate() float64 {
	if r.HandedOver == 0 {
		return -1
	}
	return float64(r.OnTime) / float64(r.HandedOver)
}

// AvgRating is the mean rating (0: no rating yet).
func (r townRow) AvgRating() float64 {
	if r.Rated == 0 {
		return 0
	}
	return float64(r.RatingSum) / float64(r.Rated)
}

type supervisionData struct {
	Region, RegionName string
	Today              string
	Month              string // last month, for the monthly report
	Rows               []townRow
	Total              townRow
	Charts             []chart
	Report             deadlines.Report
	CanSupervise       bool
	CanVerify          bool
	CanExport          bool
	CSRF               string
	forms              map[string]*form
	// Backup is the database's backup status (nil: not shown).
	Backup *backupView
}

// Form is a fresh form (the 督办 forms, the ledger verification).
func (d *supervisionData) Form(name string) *form {
	if f, ok := d.forms[name]; ok {
		return f
	}
	f := blankForm(name, d.CSRF)
	d.forms[name] = f
	return f
}

// supervision is the supervisor's dashboard: by township, open and
// overdue cases, the on-time rate and the ratings, as charts drawn here
// (inline SVG) and as a table; the overdue list with a 督办 form on each;
// ledger verification; the ledger export and the monthly report.
func (p *Pages) supervision(c echo.Context) error {
	d, err := p.supervisionData(c)
	if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "supervision", view{Title: "督查", Data: d})
}

// supervisionReport is the monthly report form's target: a month that is
// malformed, too early or still to come is shown on the form, in place;
// a good one goes on to the PDF.
func (p *Pages) supervisionReport(c echo.Context) error {
	scope, err := supervisionScope(c)
	if err != nil {
		return err
	}
	month := c.QueryParam("month")
	if _, merr := reports.ParseMonth(month, p.now()); merr != nil {
		// Only a refused month needs the dashboard, to show the form in it.
		d, err := p.supervisionData(c)
		if err != nil {
			return err
		}
		f := d.Form("report")
		f.lead = "未生成报告"
		f.Values.Set("month", month)
		status, err := f.fail(merr, func(string) string { return "month" })
		if err != nil {
			return err
		}
		return p.Render(c, status, "supervision", view{Title: "督查", Data: d})
	}
	q := url.Values{"region": {scope}, "month": {month}}
	return c.Redirect(http.StatusSeeOther, "/api/v1/reports/monthly.pdf?"+q.Encode())
}

// supervisionScope is the region the dashboard is about: the user's, or
// a township inside it asked for with region=.
func supervisionScope(c echo.Context) (string, error) {
	home := httpapi.CurrentPrincipal(c).Region
	r := c.QueryParam("region")
	if r == "" {
		return home, nil
	}
	if strings.Trim(r, "0123456789") != "" || !policies.RegionContains(home, r) {
		return "", daiban.Errorf(daiban.ENOTFOUND, "地区 %s 不在您的管辖范围内", r)
	}
	return r, nil
}

// supervisionData gathers the dashboard of the user's region (or of the
// township asked for with region=).
func (p *Pages) supervisionData(c echo.Context) (*supervisionData, error) {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	scope, err := supervisionScope(c)
	if err != nil {
		return nil, err
	}
	may := func(obj, act string) bool { return p.Authz.RoleMay(pr.Username, obj, act) }
	today := calendar.Date(p.now())
	d := &supervisionData{Region: scope, Today: today.Format("2006-01-02"), Month: today.AddDate(0, 0, -today.Day()).Format("2006-01"),
		CanSupervise: may("case", "supervise"), CanVerify: may("ledger", "verify"), CanExport: may("ledger", "export"),
		CSRF: pr.CSRFToken, forms: map[string]*form{}}
	if d.Rows, d.RegionName, err = p.townRows(ctx, scope); err != nil {
		return nil, err
	}
	d.Total = totalRow(d.Rows)
	d.Charts = dashboardCharts(d.Rows, d.Total)
	if d.Report, err = p.Supervision.Build(ctx, scope); err != nil {
		return nil, err
	}
	if p.Backups != nil {
		d.Backup = newBackupView(p.Backups.Status(ctx))
	}
	return d, nil
}

// totalRow adds up the townships' rows.
func totalRow(rows []townRow) townRow {
	t := townRow{Name: "合计"}
	for _, r := range rows {
		t.Total += r.Total
		t.Open += r.Open
		t.Overdue += r.Overdue
		t.Escalated += r.Escalated
		t.HandedOver += r.HandedOver
		t.OnTime += r.OnTime
		t.Rated += r.Rated
		t.RatingSum += r.RatingSum
		for i := range r.Ratings {
			t.Ratings[i] += r.Ratings[i]
		}
	}
	return t
}

func townRowOf(f cases.TownshipFigures) townRow {
	return townRow{Code: f.Township, Total: f.Total, Open: f.Open, Overdue: f.Overdue, Escalated: f.Escalated,
		HandedOver: f.HandedOver, OnTime: f.OnTime, Rated: f.Rated, RatingSum: f.RatingSum, Ratings: f.Ratings}
}

// townRows returns the figures of every township inside scope (zeros for
// a township without cases), and the scope's name.
func (p *Pages) townRows(ctx context.Context, scope string) ([]townRow, string, error) {
	rs, err := p.Regions.List(ctx)
	if err != nil {
		return nil, "", err
	}
	figures, err := p.Cases.FiguresByTownship(ctx, scope)
	if err != nil {
		return nil, "", err
	}
	byCode := map[string]townRow{}
	for _, f := range figures {
		byCode[f.Township] = townRowOf(f)
	}
	var rows []townRow
	name := scope
	for _, r := range rs {
		if r.Code == scope {
			name = r.Name
		}
		if !policies.RegionContains(scope, r.Code) && !policies.RegionContains(r.Code, scope) {
			continue
		}
		switch {
		case r.Level == regions.County && byCode[r.Code].Total > 0:
			row := byCode[r.Code]
			row.Code, row.Name = r.Code, "县本级"
			rows = append(rows, row)
		case r.Level == regions.Township:
			row := byCode[r.Code]
			row.Code, row.Name = r.Code, r.Name
			rows = append(rows, row)
		}
	}
	return rows, name, nil
}

// verifyLedger recomputes the ledger against its signed checkpoints (and,
// when pasted, a checkpoint the supervisor kept) and shows the result.
func (p *Pages) verifyLedger(c echo.Context) error {
	var kept []byte
	if s := strings.TrimSpace(c.FormValue("checkpoint")); s != "" {
		kept = []byte(strings.ReplaceAll(s, "\r\n", "\n") + "\n")
	}
	res, err := p.Ledger.Verify(c.Request().Context(), kept)
	var ve *ledger.VerifyError
	switch {
	case errors.As(err, &ve):
		setFlash(c, flash{Kind: "bad", Message: ve.Error() + "。请立即报告系统管理员，并保留已导出的台账与检查点。"})
	case err != nil && daiban.ErrorCode(err) == daiban.EINVALID:
		setFlash(c, flash{Kind: "bad", Message: "台账校验未完成：" + daiban.ErrorMessage(err)})
	case err != nil:
		return err
	case res.Size == 0:
		setFlash(c, flash{Message: "台账校验通过：台账为空。"})
	default:
		msg := fmt.Sprintf("台账校验通过：共 %d 条记录，与最新签名检查点一致（根哈希 %s）", res.Size, base64.StdEncoding.EncodeToString(res.Root[:]))
		if res.Kept != nil {
			msg += fmt.Sprintf("，并包含您保存的检查点（%d 条）", res.Kept.Size)
		}
		setFlash(c, flash{Message: msg + "。"})
	}
	return seeOther(c, "/supervision#ledger")
}
