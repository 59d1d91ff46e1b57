package cases

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies/httpapi"
)

// RectificationWorkdays is the time limit of a 差评 rectification: a
// rating of 2 or less opens one due this many working days after the
// rating (prepareRating). An agent closes it with what was done about it.
const RectificationWorkdays = 15

type rectifyBody struct {
	Result string `json:"result"`
}

// RectifyTx closes the case's open rectification with its result (整改结
// 果) inside tx and appends the ledger entry case.rectified, which says
// whether it was closed by its due date.
func (s *Service) RectifyTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, result string) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: rectify case %d", id)
	t, err := text("result", result, 2000, true)
	if err != nil {
		return Case{}, err
	}
	row, err := s.q.CaseGetForUpdate(ctx, tx, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	r, err := s.q.RectificationForUpdate(ctx, tx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "该案件没有差评整改事项")
	} else if err != nil {
		return Case{}, err
	}
	if r.Status != "open" {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "该案件的差评整改已办结")
	}
	now := s.Now()
	if err := s.q.RectificationClose(ctx, tx, &now, &t, r.ID); err != nil {
		return Case{}, err
	}
	onTime := !calendar.Date(now).After(calendar.Date(r.DueDate))
	err = s.record(ctx, tx, a.Username, id, row.Region, "case.rectified", map[string]any{
		"number": row.Number, "rating": r.Rating, "due_date": r.DueDate.Format("2006-01-02"), "on_time": onTime,
		"note": t, "at": now.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return Case{}, err
	}
	if err := s.tell(ctx, tx, ApplicantEvent{CaseID: id, Version: int(row.Version), Action: "rectified", From: State(row.State), To: State(row.State), Note: t}); err != nil {
		return Case{}, err
	}
	return s.Load(ctx, tx, id)
}

func (h *Handler) rectify(c echo.Context) error {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	var b rectifyBody
	key, err := readRequest(c, func(raw []byte) error { return httpapi.DecodeJSON(raw, &b) })
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	full := h.fullID(c)
	st, err := h.svc.InTx(ctx, key, http.StatusOK, func(tx pgx.Tx) (any, error) {
		cs, err := h.svc.RectifyTx(ctx, tx, actor(c), id, b.Result)
		return View(cs, full), err
	})
	if err != nil {
		return err
	}
	return writeStored(c, st)
}
