package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/cases"
)

// The public pages: nothing personal on them (names masked, no ID or
// phone numbers), readable on a phone.

type verifyData struct {
	Key    string
	Result *agreements.Verification
}

// verifyLookup answers the lookup form: the code or fingerprint typed
// from a paper document.
func (p *Pages) verifyLookup(c echo.Context) error {
	key := strings.TrimSpace(c.QueryParam("key"))
	if key != "" {
		return seeOther(c, "/verify/"+url.PathEscape(key))
	}
	return p.Render(c, http.StatusOK, "verify", view{Title: "文书核验", Data: verifyData{}})
}

func (p *Pages) verify(c echo.Context) error {
	key := c.Param("key")
	v, err := p.Documents.Verify(c.Request().Context(), key)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "verify", view{Title: "文书核验", Data: verifyData{Key: key}})
	} else if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "verify", view{Title: "文书核验", Data: verifyData{Key: key, Result: &v}})
}

type trackData struct {
	Code   string
	Looked bool // a code was given (and not found when Case is nil)
	Case   *cases.TrackView
	Form   *form
	// Posted is a posted delivery waiting for the applicant's
	// confirmation (carrier and waybill only; never the address).
	Posted *cases.DeliveryView
	// DeliveryForm is the confirmation form (one-time code).
	DeliveryForm *form
	// MatterNames names a 一件事's matters for its progress list.
	MatterNames map[string]string
}

func (p *Pages) trackLookup(c echo.Context) error {
	code := strings.ToUpper(strings.TrimSpace(c.QueryParam("code")))
	if code != "" {
		return seeOther(c, "/track/"+url.PathEscape(code))
	}
	return p.Render(c, http.StatusOK, "track", view{Title: "办件进度查询", Data: trackData{Form: publicForm(c, "evaluate")}})
}

func (p *Pages) track(c echo.Context) error {
	return p.renderTrack(c, http.StatusOK, publicForm(c, "evaluate"))
}

func (p *Pages) renderTrack(c echo.Context, status int, f *form) error {
	code := c.Param("code")
	d := trackData{Code: code, Looked: true, Form: f}
	cs, err := p.Cases.Track(c.Request().Context(), code)
	switch {
	case daiban.ErrorCode(err) == daiban.ENOTFOUND:
		return p.Render(c, http.StatusNotFound, "track", view{Title: "办件进度查询", Data: d})
	case err != nil:
		return err
	}
	tv := cases.Track(cs)
	d.Case = &tv
	if err := p.trackPosted(c, &d, cs, f); err != nil {
		return err
	}
	return p.Render(c, status, "track", view{Title: "办件进度查询", Data: d})
}

// trackEvaluate takes the applicant's one rating from the tracking page
// (the API's POST /api/v1/track/{code}/evaluation as a form). The form
// carries the pre-session token (publicform.go), so another page cannot
// rate a case in the applicant's name.
func (p *Pages) trackEvaluate(c echo.Context) error {
	ctx := c.Request().Context()
	f := postedPublicForm(c, "evaluate")
	if err := p.checkPublicForm(c); err != nil {
		return p.renderTrack(c, refusePublic(f, err), f)
	}
	cs, err := p.Cases.Track(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	body, fieldOf, err := cases.FormBody(cases.ActEvaluate, f.Values)
	evaluate, _ := cases.ActionSpec(cases.ActEvaluate)
	fieldOf = shownOn(fieldOf, evaluate.Fields)
	var b any
	if err == nil {
		b, err = cases.ParseBody(cases.ActEvaluate, body)
	}
	if err == nil {
		_, err = p.Cases.Act(ctx, cases.Actor{Username: "applicant"}, cs.ID, cs.Version, cases.ActEvaluate, b)
	}
	if err != nil {
		status, ferr := f.fail(err, fieldOf)
		if ferr != nil {
			return ferr
		}
		return p.renderTrack(c, status, f)
	}
	setFlash(c, flash{Message: "感谢您的评价！"})
	return seeOther(c, "/track/"+url.PathEscape(cs.TrackingCode))
}
