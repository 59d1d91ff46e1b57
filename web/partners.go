package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// partnersData is the administrator's partner page: the partners with
// their delivery figures, the dead letters, and — right after adding one
// — the new key, shown this once.
type partnersData struct {
	Items  []partners.Partner
	Dead   []notify.DeadLetter
	Kinds  []partners.Kind
	NewKey string
	Added  string
	Manage bool
}

func (p *Pages) partnersData(c echo.Context) (partnersData, error) {
	ctx := c.Request().Context()
	list, err := p.Partners.List(ctx)
	if err != nil {
		return partnersData{}, err
	}
	dead, err := p.Outbox.Dead(ctx)
	if err != nil {
		return partnersData{}, err
	}
	return partnersData{Items: list, Dead: dead, Kinds: partners.Kinds,
		Manage: p.Authz.RoleMay(httpapi.CurrentPrincipal(c).Username, "partner", "manage")}, nil
}

// partnersPage lists the partners and the dead letters.
func (p *Pages) partnersPage(c echo.Context) error {
	d, err := p.partnersData(c)
	if err != nil {
		return err
	}
	return p.Render(c, http.StatusOK, "partners", view{Title: "合作方与通知投递", Data: d})
}

// partnerAdd adds a partner and answers with the page showing its key:
// not through a redirect, so the key never travels in a cookie or a URL.
func (p *Pages) partnerAdd(c echo.Context) error {
	f := postedForm(c, "partner")
	pt, key, err := p.Partners.Add(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, f.Value("name"), partners.Kind(f.Value("kind")), f.Value("webhook"))
	if err != nil {
		setFlash(c, flash{Kind: "bad", Message: daiban.ErrorMessage(err)})
		return seeOther(c, "/partners")
	}
	d, err := p.partnersData(c)
	if err != nil {
		return err
	}
	d.NewKey, d.Added = key, pt.Name
	return p.Render(c, http.StatusCreated, "partners", view{Title: "合作方与通知投递", Data: d})
}

// partnerRevoke revokes a partner's key.
func (p *Pages) partnerRevoke(c echo.Context) error {
	name, err := url.PathUnescape(c.Param("name"))
	if err != nil {
		return daiban.Errorf(daiban.ENOTFOUND, "合作方不存在")
	}
	if err := p.Partners.Revoke(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, name); err != nil {
		setFlash(c, flash{Kind: "bad", Message: daiban.ErrorMessage(err)})
	} else {
		setFlash(c, flash{Kind: "ok", Message: "已吊销合作方「" + name + "」的密钥"})
	}
	return seeOther(c, "/partners")
}

// notificationResend sends a dead letter again.
func (p *Pages) notificationResend(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return daiban.Errorf(daiban.ENOTFOUND, "通知不存在")
	}
	err = p.Outbox.Resend(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, id, resendRecord)
	if err != nil {
		setFlash(c, flash{Kind: "bad", Message: daiban.ErrorMessage(err)})
	} else {
		setFlash(c, flash{Kind: "ok", Message: "已重新投递第 " + strconv.FormatInt(id, 10) + " 条通知"})
	}
	return seeOther(c, "/partners")
}

// resendRecord writes the resend's ledger entry in its transaction.
func resendRecord(ctx context.Context, db dbsqlc.DBTX, actor string, payload map[string]any) error {
	return ledger.RecordAccount(ctx, db, actor, "", "notification.resent", payload)
}
