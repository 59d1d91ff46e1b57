package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
)

// act performs a case action from its form on the case page (or the 督办
// form of the supervisor's dashboard). The form's fields become the
// action's JSON body, which the cases package decodes and validates as it
// does the API's; the form carries the case version it was shown with
// (the API's If-Match) and an idempotency key.
func (p *Pages) act(c echo.Context) error {
	ctx := c.Request().Context()
	id, action := caseID(c), c.Param("action")
	f := postedForm(c, action)
	body, fieldOf, err := cases.FormBody(action, f.Values)
	spec, _ := cases.ActionSpec(action)
	fieldOf = shownOn(fieldOf, spec.Fields)
	var version int
	if err == nil {
		version, err = p.formVersion(c, id, action, f.Value("version"))
	}
	var b any
	if err == nil {
		b, err = cases.ParseBody(action, body)
	}
	var key *cases.Idem
	if err == nil {
		key, err = idem(c)
	}
	state := ""
	replayed := true
	if err == nil {
		var st cases.Stored
		st, err = p.Cases.InTx(ctx, key, http.StatusOK, func(tx pgx.Tx) (any, error) {
			replayed = false
			cs, err := p.Cases.ActTx(ctx, tx, actor(c), id, version, action, b)
			return map[string]any{"id": cs.ID, "state": cs.State}, err
		})
		if err == nil {
			var out struct {
				State cases.State `json:"state"`
			}
			_ = json.Unmarshal(st.Body, &out)
			state = cases.StateNames[out.State]
		}
	}
	if err != nil {
		status, ferr := f.fail(err, fieldOf)
		if ferr != nil {
			return ferr
		}
		return p.renderCase(c, status, f)
	}
	msg := fmt.Sprintf("已完成「%s」，案件现为「%s」。", cases.ActionNames[action], state)
	if replayed {
		msg = fmt.Sprintf("「%s」此前已提交，没有重复执行。", cases.ActionNames[action])
	}
	setFlash(c, flash{Message: msg})
	if back := f.Value("back"); localPath(back) {
		return seeOther(c, back)
	}
	return seeOther(c, fmt.Sprintf("/cases/%d", id))
}

// formVersion reads the case version the form was shown with. A 督办 note
// changes no state, so the dashboard's one-line form goes without it and
// the note is added to the case as it now is.
func (p *Pages) formVersion(c echo.Context, id int64, action, v string) (int, error) {
	if v == "" && action == cases.ActSupervise {
		cs, err := p.Cases.Get(c.Request().Context(), id)
		return cs.Version, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, daiban.Errorf(daiban.EPRECONDITIONREQUIRED, "表单缺少案件版本号，请刷新页面后重新填写")
	}
	return n, nil
}

// shownOn keeps a field mapping to the fields a form shows messages
// next to; a message about any other field goes to the top of the form,
// so no message is lost.
func shownOn(fieldOf func(string) string, shown []string) func(string) string {
	return func(f string) string {
		f = fieldOf(f)
		for _, s := range shown {
			if f == s || strings.HasSuffix(s, ".") && strings.HasPrefix(f, s) {
				return f
			}
		}
		return ""
	}
}

// custody records a hand-over of an original material from the
// material's row on the case page. "to" is applicant, a username, or
// "department" with the department's name in "department".
func (p *Pages) custody(c echo.Context) error {
	ctx := c.Request().Context()
	id := caseID(c)
	code := c.FormValue("material")
	f := postedForm(c, "custody-"+code)
	m := cases.Move{Material: code, From: f.Value("from"), To: f.Value("to"), Note: f.Value("note")}
	if m.To == "department" {
		m.To = "department:" + strings.TrimSpace(f.Value("department"))
	}
	var err error
	if m.Count, err = strconv.Atoi(strings.TrimSpace(f.Value("count"))); err != nil {
		err = daiban.Invalid("count", "份数应为 1 至 1000 的整数")
	}
	var key *cases.Idem
	if err == nil {
		key, err = idem(c)
	}
	var moved cases.Case
	replayed := true
	if err == nil {
		_, err = p.Cases.InTx(ctx, key, http.StatusCreated, func(tx pgx.Tx) (any, error) {
			replayed = false
			cs, err := p.Cases.CustodyTx(ctx, tx, actor(c), id, m)
			moved = cs
			return map[string]any{"id": cs.ID}, err
		})
	}
	if err != nil {
		status, ferr := f.fail(err, custodyField)
		if ferr != nil {
			return ferr
		}
		return p.renderCase(c, status, f)
	}
	msg := "该移交此前已登记，没有重复记录。"
	if !replayed {
		name := code
		for _, mat := range moved.Materials {
			if mat.Code == code {
				name = mat.Name
			}
		}
		msg = fmt.Sprintf("已登记移交：「%s」%d 份，由 %s 交给 %s。", name, m.Count, p.holderLabel(ctx, m.From), p.holderLabel(ctx, m.To))
	}
	setFlash(c, flash{Message: msg})
	return seeOther(c, fmt.Sprintf("/cases/%d#materials", id))
}

// holderLabel names a holder for a message: a staff user by name.
func (p *Pages) holderLabel(ctx context.Context, h string) string {
	if u, err := p.Users.Get(ctx, h); err == nil {
		return u.Name
	}
	return holderName(h)
}

// custodyField maps the custody service's fields to the hand-over form's;
// the material and its current holder are fixed by the form, so a problem
// with them is the form's as a whole.
func custodyField(f string) string {
	switch f {
	case "to", "count", "note":
		return f
	}
	return ""
}

// notice issues the one-time notice and shows the case again with a link
// that opens the PDF for printing.
func (p *Pages) notice(c echo.Context) error {
	d, err := p.Documents.IssueNotice(c.Request().Context(), actor(c), caseID(c))
	if err != nil {
		f := newForm(c, "notice")
		status, ferr := f.fail(err, atTop)
		if ferr != nil {
			return ferr
		}
		return p.renderCase(c, status, f)
	}
	setFlash(c, flash{Message: "一次告知单已出具并盖章。", Link: fmt.Sprintf("/api/v1/documents/%d", d.ID), LinkText: "打开告知单（PDF）并打印"})
	return seeOther(c, fmt.Sprintf("/cases/%d", caseID(c)))
}
