// Package hotline takes work orders from the 12345 hotline platform. A
// request for help opens a consultation case (channel hotline) in the
// region the order names, keeping the order number; a complaint about an
// existing case opens (or reopens) its rectification with the hotline's
// reply deadline and tells the township's supervisors. The reply goes back
// through the notification outbox (package cases/notify) to the partner's
// webhook. The platform authenticates with its partner key as a bearer
// token and signs each body like the webhooks (policies/partners/webhook).
// A repeated delivery of one order number returns the first answer.
package hotline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/partners/webhook"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Order is a 12345 work order (工单).
type Order struct {
	// OrderNo is the platform's work order number (工单编号).
	OrderNo string `json:"order_no"`
	// Kind is request (求助: open a case) or complaint (投诉 about a case).
	Kind string `json:"kind"`
	// Region is the code of the township (or county) the order is for.
	Region string `json:"region"`
	// Matter is the catalog code of the matter, when the caller named one.
	Matter string `json:"matter,omitempty"`
	// CaseRef is the case complained about: its number or tracking code.
	CaseRef   string `json:"case_ref,omitempty"`
	Applicant Caller `json:"applicant"`
	// Content is what the caller said (诉求内容).
	Content string `json:"content"`
	// ReplyDue is the date 12345 wants the answer by (YYYY-MM-DD).
	ReplyDue string `json:"reply_due"`
}

// Caller is the person who called 12345.
type Caller struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Answer is the reply to an order: the case a request opened, or the
// rectification a complaint opened.
type Answer struct {
	CaseID          int64 `json:"case_id,omitempty"`
	RectificationID int64 `json:"rectification_id,omitempty"`
}

// Handler serves the work order endpoint.
type Handler struct {
	pool      *pgxpool.Pool
	cases     *cases.Service
	partners  *partners.Store
	deadlines *deadlines.Service
	record    cases.Recorder
	now       func() time.Time
}

// NewHandler returns the handler.
func NewHandler(pool *pgxpool.Pool, cs *cases.Service, ps *partners.Store, dl *deadlines.Service, record cases.Recorder) *Handler {
	return &Handler{pool: pool, cases: cs, partners: ps, deadlines: dl, record: record, now: cs.Now}
}

// Routes returns the endpoint. It is public to the staff guard: the
// partner's key and signature are checked here.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/api/v1/hotline/orders", Public: true, Handler: h.post,
			Doc: httpapi.Doc{Summary: "12345 热线派发工单（求助立案；投诉立整改）", Request: Order{}, Response: Answer{}, Status: http.StatusCreated, Partner: true,
				Notes: "以合作方密钥为 Bearer，并带 X-Daiban-Timestamp 与 X-Daiban-Signature（见上）。同一工单编号重复投递，返回第一次的应答。办理结果与回访结果经合作方回调地址送回。"}},
	}
}

var orderNoPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// authenticate checks the bearer key and the body's signature.
func (h *Handler) authenticate(c echo.Context, body []byte) (partners.Partner, error) {
	auth := c.Request().Header.Get("Authorization")
	scheme, key, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return partners.Partner{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "缺少合作方密钥（Authorization: Bearer <密钥>）")
	}
	p, secret, err := h.partners.Authenticate(c.Request().Context(), strings.TrimSpace(key))
	if err != nil {
		return partners.Partner{}, err
	}
	switch err := webhook.Verify(secret, c.Request().Header, body, time.Now()); {
	case errors.Is(err, webhook.ErrStale):
		return partners.Partner{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "请求时间戳与服务器时间相差超过 5 分钟，已拒绝（防重放）")
	case err != nil:
		return partners.Partner{}, daiban.Errorf(daiban.EUNAUTHENTICATED, "请求签名无效（X-Daiban-Timestamp / X-Daiban-Signature）")
	}
	if p.Kind != partners.Hotline {
		return partners.Partner{}, daiban.Errorf(daiban.EFORBIDDEN, "只有 12345 热线合作方可以提交工单")
	}
	return p, nil
}

func (h *Handler) post(c echo.Context) error {
	ctx := c.Request().Context()
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return daiban.Invalid("body", "提交的内容过大")
	}
	p, err := h.authenticate(c, body)
	if err != nil {
		return err
	}
	var o Order
	status, resp, err := 0, []byte(nil), httpapi.DecodeJSON(body, &o)
	if err == nil {
		err = pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
			status, resp, err = h.take(ctx, tx, p, o)
			return err
		})
	}
	if err != nil {
		h.refused(ctx, p, o.OrderNo, err)
		return err
	}
	return c.JSONBlob(status, resp)
}

// refused records a refused order in the ledger: every partner call is
// there, the refusals too.
func (h *Handler) refused(ctx context.Context, p partners.Partner, orderNo string, cause error) {
	var de *daiban.Error
	if !errors.As(cause, &de) || de.Code == daiban.EINTERNAL {
		return
	}
	if len(orderNo) > 64 {
		orderNo = orderNo[:64]
	}
	_ = h.partners.Record(ctx, h.pool, p, "partner.order_refused", map[string]any{"order_no": orderNo, "code": de.Code, "field": de.Field})
}

// take answers an order in tx: the stored answer of an order number seen
// before, else the new case or rectification with its order row.
func (h *Handler) take(ctx context.Context, tx pgx.Tx, p partners.Partner, o Order) (int, []byte, error) {
	if !orderNoPattern.MatchString(o.OrderNo) {
		return 0, nil, daiban.Invalid("order_no", "工单编号无效：应为 1 到 64 位字母、数字、- 或 _")
	}
	q := dbsqlc.New()
	if err := q.HotlineLock(ctx, tx, fmt.Sprintf("hotline:%d:%s", p.ID, o.OrderNo)); err != nil {
		return 0, nil, err
	}
	prev, err := q.HotlineOrderGet(ctx, tx, p.ID, o.OrderNo)
	if err == nil {
		err = h.partners.Record(ctx, tx, p, "partner.order_repeated", map[string]any{"order_no": o.OrderNo, "case_id": prev.CaseID})
		return int(prev.Status), prev.Response, err
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, err
	}
	due, err := h.check(o)
	if err != nil {
		return 0, nil, err
	}
	var a Answer
	caseID := int64(0)
	switch o.Kind {
	case "request":
		caseID, err = h.request(ctx, tx, p, o)
		a.CaseID = caseID
	case "complaint":
		caseID, a.RectificationID, err = h.complaint(ctx, tx, p, o, due)
	}
	if err != nil {
		return 0, nil, err
	}
	resp, err := json.Marshal(a)
	if err != nil {
		return 0, nil, err
	}
	var rect *int64
	if a.RectificationID != 0 {
		rect = &a.RectificationID
	}
	err = q.HotlineOrderInsert(ctx, tx, dbsqlc.HotlineOrderInsertParams{PartnerID: p.ID, OrderNo: o.OrderNo, Kind: o.Kind, CaseID: caseID,
		RectificationID: rect, ReplyDue: due, Status: http.StatusCreated, Response: resp})
	if err != nil {
		return 0, nil, err
	}
	err = h.partners.Record(ctx, tx, p, "partner.order", map[string]any{"order_no": o.OrderNo, "kind": o.Kind, "case_id": caseID, "reply_due": o.ReplyDue})
	return http.StatusCreated, resp, err
}

// check validates what the case service does not: kind, content, reply
// date, and for a complaint the case reference.
func (h *Handler) check(o Order) (time.Time, error) {
	if o.Kind != "request" && o.Kind != "complaint" {
		return time.Time{}, daiban.Invalid("kind", "工单类型应为 request（求助）或 complaint（投诉）")
	}
	if n := len([]rune(strings.TrimSpace(o.Content))); n == 0 || n > 2000 {
		return time.Time{}, daiban.Invalid("content", "请填写诉求内容（最多 2000 字）")
	}
	due, err := time.ParseInLocation("2006-01-02", o.ReplyDue, calendar.Shanghai)
	if err != nil {
		return time.Time{}, daiban.Invalid("reply_due", "答复期限应为日期，格式 YYYY-MM-DD")
	}
	if due.Before(calendar.Date(h.now())) {
		return time.Time{}, daiban.Invalid("reply_due", "答复期限 %s 已过", o.ReplyDue)
	}
	if o.Kind == "complaint" && strings.TrimSpace(o.CaseRef) == "" {
		return time.Time{}, daiban.Invalid("case_ref", "投诉工单请填写被投诉案件的编号或查询码")
	}
	if o.Region == "" {
		return time.Time{}, daiban.Invalid("region", "请填写工单所属乡镇（街道）的地区代码")
	}
	return due, nil
}

// request opens the consultation case of a request for help.
func (h *Handler) request(ctx context.Context, tx pgx.Tx, p partners.Partner, o Order) (int64, error) {
	summary := "12345 工单 " + o.OrderNo + "：" + strings.TrimSpace(o.Content)
	cs, err := h.cases.Create(ctx, tx, cases.Actor{Username: "partner:" + p.Name}, cases.NewCase{Region: o.Region, Channel: cases.Hotline,
		Matter: o.Matter, Applicant: cases.Applicant{Kind: "person", Name: o.Applicant.Name, Phone: o.Applicant.Phone}, Summary: summary})
	if err != nil {
		return 0, err
	}
	return cs.ID, nil
}

// complaint opens the rectification of the case complained about.
func (h *Handler) complaint(ctx context.Context, tx pgx.Tx, p partners.Partner, o Order, due time.Time) (int64, int64, error) {
	q := dbsqlc.New()
	ref, err := q.CaseByRef(ctx, tx, strings.TrimSpace(o.CaseRef))
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, daiban.Invalid("case_ref", "找不到编号或查询码为 %q 的案件", o.CaseRef)
	} else if err != nil {
		return 0, 0, err
	}
	if ref.Region != o.Region && !strings.HasPrefix(ref.Region, o.Region) {
		return 0, 0, daiban.Invalid("region", "案件 %s 不属于地区 %s", ref.Number, o.Region)
	}
	now := h.now()
	rid, err := q.RectificationOpenHotline(ctx, tx, dbsqlc.RectificationOpenHotlineParams{CaseID: ref.ID, Comment: strings.TrimSpace(o.Content), DueDate: due, OpenedAt: now})
	if err != nil {
		return 0, 0, err
	}
	actor := "partner:" + p.Name
	err = h.record(ctx, tx, actor, ref.ID, ref.Region, "case.hotline_complaint", map[string]any{
		"number": ref.Number, "order_no": o.OrderNo, "rectification_id": rid, "reply_due": o.ReplyDue, "at": now.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return 0, 0, err
	}
	if _, err := h.deadlines.ComplaintNotice(ctx, tx, actor, ref.ID, ref.Number, ref.Region, o.OrderNo, due, now); err != nil {
		return 0, 0, err
	}
	return ref.ID, rid, nil
}
