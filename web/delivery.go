package web

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/cases"
)

// Results by post (证照到付): the agent's posted handover and the
// carrier's proof on the handover page; the applicant's confirmation on
// the tracking page, which leads to the signing page on the phone.

func (p *Pages) delivery(ctx context.Context, id int64) (*cases.DeliveryView, error) {
	d, err := p.Cases.Delivery(ctx, id)
	return &d, err
}

// postedHandover records the verified items and the dispatch.
func (p *Pages) postedHandover(c echo.Context, verified map[int64]bool) error {
	post := cases.Post{Carrier: c.FormValue("carrier"), Waybill: c.FormValue("waybill"), Address: c.FormValue("address")}
	d, err := p.Documents.StartPostedHandover(c.Request().Context(), actor(c), caseID(c), verified, post)
	msg := "已登记寄出：" + d.Carrier + " 运单号 " + d.Waybill + "。确认码已以短信发给申请人；申请人收到后在手机上确认签收，或在此录入承运人签收凭证。"
	if err == nil && !d.CodeSent {
		msg = "已登记寄出，但确认码短信未能发出；收到承运人签收凭证后请在此录入。"
	}
	return p.afterLink(c, agreements.KindReceipt, "", err, msg)
}

// carrierProof takes the carrier's signed proof (a PNG scan or photo).
func (p *Pages) carrierProof(c echo.Context) error {
	var png []byte
	fh, err := c.FormFile("proof")
	if err == nil {
		var f io.ReadCloser
		if f, err = fh.Open(); err == nil {
			png, err = io.ReadAll(io.LimitReader(f, 1<<20))
			f.Close()
		}
	}
	if err != nil || len(png) == 0 {
		err = daiban.Invalid("proof", "请选择承运人签收凭证图片（PNG）")
	} else {
		_, err = p.Documents.CarrierProof(c.Request().Context(), actor(c), caseID(c), png)
	}
	if err != nil {
		return p.afterLink(c, agreements.KindReceipt, "", err, "")
	}
	setFlash(c, flash{Kind: "ok", Message: "已录入承运人签收凭证，签收单已盖章，案件已办结（邮寄送达）。"})
	return seeOther(c, fmt.Sprintf("/cases/%d/handover", caseID(c)))
}

// trackDelivery: the applicant types the code from the text message and
// goes on to sign the receipt on the phone.
func (p *Pages) trackDelivery(c echo.Context) error {
	f := postedPublicForm(c, "delivery")
	if err := p.checkPublicForm(c); err != nil {
		return p.renderTrack(c, refusePublic(f, err), f)
	}
	link, err := p.Documents.DeliverySigningLink(c.Request().Context(), c.Param("code"), f.Value("otp"))
	if err != nil {
		status, ferr := f.fail(err, same)
		if ferr != nil {
			return ferr
		}
		return p.renderTrack(c, status, f)
	}
	return c.Redirect(http.StatusSeeOther, link)
}

// trackPosted adds a posted delivery that waits for the applicant to the
// tracking page, with its confirmation form (f when it was just posted).
func (p *Pages) trackPosted(c echo.Context, d *trackData, cs cases.Case, f *form) error {
	var err error
	if d.MatterNames, err = p.matterNames(c.Request().Context(), cs.Matters); err != nil {
		return err
	}
	if cs.State != cases.ReadyForHandover {
		return nil
	}
	dv, err := p.Cases.Delivery(c.Request().Context(), cs.ID)
	if err != nil || dv.Method != cases.ByPost || dv.DispatchedAt == nil {
		return err
	}
	dv.AddressMasked = ""
	d.Posted = &dv
	if f != nil && f.Name == "delivery" {
		d.DeliveryForm, d.Form = f, publicForm(c, "evaluate")
	} else {
		d.DeliveryForm = publicForm(c, "delivery")
	}
	return nil
}

// matterNames names the matters of a 一件事 (nil for a single matter).
func (p *Pages) matterNames(ctx context.Context, codes []string) (map[string]string, error) {
	if len(codes) < 2 {
		return nil, nil
	}
	out := map[string]string{}
	for _, code := range codes {
		m, err := p.Catalog.Get(ctx, code)
		if err != nil {
			return nil, err
		}
		out[code] = m.Name
	}
	return out, nil
}

// application issues the combined application form of a 一件事 case.
func (p *Pages) application(c echo.Context) error {
	d, err := p.Documents.IssueApplication(c.Request().Context(), actor(c), caseID(c))
	if err != nil {
		f := newForm(c, "notice")
		status, ferr := f.fail(err, atTop)
		if ferr != nil {
			return ferr
		}
		return p.renderCase(c, status, f)
	}
	setFlash(c, flash{Message: "一件事联合申请表已生成并盖章。", Link: fmt.Sprintf("/api/v1/documents/%d", d.ID), LinkText: "打开申请表（PDF）并打印"})
	return seeOther(c, fmt.Sprintf("/cases/%d", caseID(c)))
}
