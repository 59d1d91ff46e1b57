package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies/httpapi"
)

// signingPage is the agreement page or the handover page: the draft's
// signatures so far, the one-time link for the counter tablet, the
// agent's own signature pad (agreement) or the checklist (handover), and
// the sealed document once it is done.
type signingPage struct {
	Case cases.CaseView
	// Draft is the document waiting for signatures (nil: none).
	Draft           *agreements.Status
	ApplicantSigned bool
	AgentSigned     bool
	// Sealed is the sealed agreement or receipt, once there is one.
	Sealed *cases.DocumentRef
	Form   *form
	CSRF   string
	// LiveLink is the draft's live signing link, shown again after a
	// reload (a new link would void it).
	LiveLink string
	// Delivery is how the results go to the applicant (receipts only).
	Delivery *cases.DeliveryView
}

func (p *Pages) signingData(c echo.Context, kind string) (*signingPage, error) {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	cs, err := p.Cases.Get(ctx, caseID(c))
	if err != nil {
		return nil, err
	}
	sp := &signingPage{Case: cases.View(cs, p.Authz.RoleMay(pr.Username, "case", "progress")), CSRF: pr.CSRFToken, Form: newForm(c, kind)}
	for i, d := range cs.Documents {
		if d.Kind == kind {
			sp.Sealed = &cs.Documents[i]
		}
	}
	if kind == agreements.KindReceipt {
		if sp.Delivery, err = p.delivery(ctx, cs.ID); err != nil {
			return nil, err
		}
	}
	st, err := p.Documents.Draft(ctx, cs.ID, kind)
	switch {
	case err == nil:
		sp.Draft = &st
		for _, r := range st.Signed {
			sp.ApplicantSigned = sp.ApplicantSigned || r == "applicant"
			sp.AgentSigned = sp.AgentSigned || r == "agent"
		}
		if !sp.ApplicantSigned {
			if sp.LiveLink, err = p.Documents.LiveLink(ctx, st.DocumentID); err != nil {
				return nil, err
			}
		}
	case daiban.ErrorCode(err) != daiban.ENOTFOUND:
		return nil, err
	}
	return sp, nil
}

func (p *Pages) agreementPage(c echo.Context) error {
	sp, err := p.signingData(c, agreements.KindAgreement)
	if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "agreement", view{Title: "签订委托协议", Data: sp})
}

// draftAgreement drafts the agreement and shows the page with the
// applicant's one-time signing link.
func (p *Pages) draftAgreement(c echo.Context) error {
	_, link, err := p.Documents.DraftAgreement(c.Request().Context(), actor(c), caseID(c))
	return p.afterLink(c, agreements.KindAgreement, link, err, "委托协议已生成。请在柜台平板上打开签署页，由申请人签名；您本人在下方签名。")
}

func (p *Pages) agreementLink(c echo.Context) error {
	_, link, err := p.Documents.NewSigningLink(c.Request().Context(), actor(c), caseID(c), agreements.KindAgreement)
	return p.afterLink(c, agreements.KindAgreement, link, err, "已生成新的签署链接，原链接作废。")
}

func (p *Pages) handoverPage(c echo.Context) error {
	sp, err := p.signingData(c, agreements.KindReceipt)
	if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "handover", view{Title: "交付签收", Data: sp})
}

// handover records the agent's check of every result and returned
// original (each ticked box is one verified item) and drafts the receipt
// for the applicant to sign on the tablet.
func (p *Pages) handover(c echo.Context) error {
	verified := map[int64]bool{}
	params, _ := c.FormParams()
	for _, v := range params["verified"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return daiban.Invalid("verified", "交付项目无效")
		}
		verified[id] = true
	}
	if d, err := p.delivery(c.Request().Context(), caseID(c)); err != nil {
		return err
	} else if d.Method == cases.ByPost {
		return p.postedHandover(c, verified)
	}
	_, link, err := p.Documents.StartHandover(c.Request().Context(), actor(c), caseID(c), verified)
	return p.afterLink(c, agreements.KindReceipt, link, err, "全部项目已核验。请在柜台平板上打开签收页，由申请人签名确认。")
}

func (p *Pages) handoverLink(c echo.Context) error {
	_, link, err := p.Documents.NewSigningLink(c.Request().Context(), actor(c), caseID(c), agreements.KindReceipt)
	return p.afterLink(c, agreements.KindReceipt, link, err, "已生成新的签收链接，原链接作废。")
}

// afterLink answers a post that made a signing link: on success the page
// again, with the link (kept for one showing only); on a mistake the page
// with the message.
func (p *Pages) afterLink(c echo.Context, kind, link string, err error, msg string) error {
	page, title := "agreement", "签订委托协议"
	if kind == agreements.KindReceipt {
		page, title = "handover", "交付签收"
	}
	if err == nil {
		setFlash(c, flash{Message: msg, Link: link, LinkText: "在平板上打开签署页"})
		return seeOther(c, fmt.Sprintf("/cases/%d/%s", caseID(c), page))
	}
	sp, derr := p.signingData(c, kind)
	if derr != nil {
		return derr
	}
	sp.Form = postedForm(c, kind)
	status, ferr := sp.Form.fail(err, atTop)
	if ferr != nil {
		return ferr
	}
	return p.Render(c, status, page, view{Title: title, Data: sp})
}

// The counter tablet's pages: the signing page, the draft's page images
// and the applicant's copy. All public and reached by a token alone; each
// checks its token (one indexed lookup of its hash) before any rendering.

type signData struct {
	Info  *agreements.SignInfo
	Token string
	Error string
	// Pages are the numbers of the draft's page images (empty when the
	// preview could not be made: PreviewError says why, and the page
	// falls back to the document's main points).
	Pages        []int
	PreviewError string
	CopyUses     int
}

// sign is the counter tablet's signing page for the applicant: the pages
// of the very document that will be sealed (images of its PDF, tap to
// zoom), a full-width pad for finger or stylus, the last four characters
// of the document the applicant was registered with and a confirm button
// (static/sign.js posts to the API's POST /api/v1/sign/{token}).
func (p *Pages) sign(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	info, err := p.Documents.SignInfo(ctx, token)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "sign", view{Title: "签署", Data: signData{Error: daiban.ErrorMessage(err)}})
	} else if err != nil {
		return err
	}
	d := signData{Info: &info, Token: token, CopyUses: agreements.CopyUses}
	n, err := p.Documents.PreviewPages(ctx, token)
	if err != nil {
		p.Logger.Warn("document preview failed", "request_id", httpapi.RequestID(c), "document", info.DocumentID, "err", err.Error())
		d.PreviewError = "文书页面暂时无法显示（" + daiban.ErrorMessage(err) + "），以下为文书要点，可请工作人员打印草稿供您核对。"
	}
	for i := 1; i <= n; i++ {
		d.Pages = append(d.Pages, i)
	}
	return p.Render(c, http.StatusOK, "sign", view{Title: info.Title, Data: d})
}

// signPage is one page of the draft as an image. The images hold the
// applicant's name: never stored by the browser or a proxy.
func (p *Pages) signPage(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil {
		return daiban.Errorf(daiban.ENOTFOUND, "该页不存在")
	}
	img, err := p.Documents.PreviewPage(c.Request().Context(), c.Param("token"), n)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", img)
}

// copyPDF is the applicant's download link: the sealed PDF, one use
// counted each time.
func (p *Pages) copyPDF(c echo.Context) error {
	b, d, err := p.Documents.CopyPDF(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", httpapi.ContentDisposition("inline", fmt.Sprintf("%s-%d.pdf", d.Kind, d.ID), fmt.Sprintf("%s-%d.pdf", agreements.KindNames[d.Kind], d.ID)))
	h.Set("X-Content-SHA256", d.SHA256)
	return c.Blob(http.StatusOK, "application/pdf", b)
}

// copyQR is the download link as a QR code for the applicant's phone.
func (p *Pages) copyQR(c echo.Context) error {
	png, err := p.Documents.CopyQR(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}
