package cases

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// Handler serves the case endpoints.
type Handler struct {
	svc   *Service
	authz *policies.Authorizer
}

// NewHandler returns the HTTP handler of the service.
func NewHandler(svc *Service, authz *policies.Authorizer) *Handler {
	return &Handler{svc: svc, authz: authz}
}

// Routes returns the case endpoints.
func (h *Handler) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/api/v1/cases", Obj: "case", Act: "create", Handler: h.create,
			Doc: httpapi.Doc{Summary: "受理新案件（登记申请人与事项）", Request: NewCase{}, Response: createResponse{}, Status: http.StatusCreated, Idempotent: true,
				Errors: []string{daiban.EDUPLICATE}, Notes: "同一申请人同一事项已有在办案件时答 409 duplicate（附 case_id），除非带 duplicate_reason。"}},
		{Method: http.MethodGet, Path: "/api/v1/cases", Obj: "case", Act: "read", Handler: h.list,
			Doc: httpapi.Doc{Summary: "案件列表（按管辖范围，游标翻页）", Query: listQuery{}, Response: listResponse{}}},
		{Method: http.MethodGet, Path: "/api/v1/cases/:id", Obj: "case", Act: "read", Scope: h.Scope, Handler: h.get,
			Doc: httpapi.Doc{Summary: "案件详情", Response: CaseView{}, ETag: true}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/actions/:action", Obj: "case", ActParam: "action", Scope: h.Scope, Handler: h.act,
			Doc: httpapi.Doc{Summary: "办理操作（审查、委托后推进、报上级、答复、出结果、终止、评价、督办等）", Request: json.RawMessage{}, Response: CaseView{},
				IfMatch: true, Idempotent: true, ETag: true, Notes: "请求体随操作而定（见各操作的表单字段）。"}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/custody", Obj: "case", Act: "custody", Scope: h.Scope, Handler: h.custody,
			Doc: httpapi.Doc{Summary: "登记原件交接（谁在何时持有哪份原件）", Request: Move{}, Response: CaseView{}, Status: http.StatusCreated, Idempotent: true}},
		{Method: http.MethodPost, Path: "/api/v1/cases/:id/rectification", Obj: "case", Act: "evaluate", Scope: h.Scope, Handler: h.rectify,
			Doc: httpapi.Doc{Summary: "办结差评或 12345 投诉的整改（填写整改结果）", Request: rectifyBody{}, Response: CaseView{}, Idempotent: true,
				Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodGet, Path: "/api/v1/track/:code", Public: true, Handler: h.track,
			Doc: httpapi.Doc{Summary: "申请人凭查询码查看办理进度（不含个人信息）", Response: TrackView{}}},
		{Method: http.MethodPost, Path: "/api/v1/track/:code/evaluation", Public: true, Handler: h.trackEvaluate,
			Doc: httpapi.Doc{Summary: "申请人评价服务（每件一次）", Request: evaluateBody{}, Response: TrackView{}, Errors: []string{daiban.EINVALIDTRANSITION}}},
	}
}

// Scope locates a case for the guard: its region, and "own" when the user
// opened it or is its handler. A malformed id is simply not found.
func (h *Handler) Scope(c echo.Context, p httpapi.Principal) (string, string, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", "", httpapi.ErrNotFound
	}
	region, own, err := h.svc.Scope(c.Request().Context(), id, p.Username)
	if err != nil {
		return "", "", err
	}
	rel := policies.RelAny
	if own {
		rel = policies.RelOwn
	}
	return region, rel, nil
}

func actor(c echo.Context) Actor {
	p := httpapi.CurrentPrincipal(c)
	return Actor{Username: p.Username, Role: p.Role, Region: p.Region}
}

// fullID reports whether the user sees ID numbers and phones in full: only
// an agent who may act on the case does (scope was checked by the guard).
func (h *Handler) fullID(c echo.Context) bool {
	return h.authz.RoleMay(httpapi.CurrentPrincipal(c).Username, "case", "progress")
}

// readBody reads the raw body (for the idempotency hash) within the limit.
func readBody(c echo.Context) ([]byte, error) {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, daiban.Invalid("body", "提交的内容格式不对，无法识别")
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, httpapi.MaxBody))
	if err != nil {
		return nil, daiban.Invalid("body", "提交的内容过大，请删减后重试")
	}
	return b, nil
}

// readRequest reads the JSON body, decodes it with decode (strict, naming
// the field at fault) and returns the request's idempotency identity, if it
// carried a key: the key covers the raw body, so a retry must be the same
// request byte for byte.
func readRequest(c echo.Context, decode func(raw []byte) error) (*Idem, error) {
	raw, err := readBody(c)
	if err != nil {
		return nil, err
	}
	if err := decode(raw); err != nil {
		return nil, err
	}
	return idem(c, raw)
}

// idem returns the request's idempotency identity, if it carried a key.
func idem(c echo.Context, body []byte) (*Idem, error) {
	key := c.Request().Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 200 {
		return nil, daiban.Invalid("Idempotency-Key", "请求幂等键过长（最多 200 个字符）")
	}
	h := sha256.New()
	h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
	h.Write([]byte(c.Request().Header.Get("If-Match") + "\n"))
	h.Write(body)
	return &Idem{User: httpapi.CurrentPrincipal(c).Username, Key: key, Hash: h.Sum(nil)}, nil
}

func writeStored(c echo.Context, st Stored) error {
	return c.JSONBlob(st.Status, st.Body)
}

type createResponse struct {
	ID           int64  `json:"id"`
	Number       string `json:"number"`
	State        State  `json:"state"`
	Version      int    `json:"version"`
	TrackingCode string `json:"tracking_code"`
}

func (h *Handler) create(c echo.Context) error {
	var in NewCase
	id, err := readRequest(c, func(raw []byte) error { return httpapi.DecodeJSON(raw, &in) })
	if err != nil {
		return err
	}
	if in.Region == "" {
		return daiban.Invalid("region", "请选择地区")
	}
	if err := h.svc.CheckRegion(c.Request().Context(), in.Region); err != nil {
		return err
	}
	if err := httpapi.Authorize(c, in.Region, "case", "create", policies.RelAny); err != nil {
		return daiban.Errorf(daiban.EFORBIDDEN, "不能在地区 %s 受理案件：不在您的管辖范围内", in.Region)
	}
	st, err := h.svc.InTx(c.Request().Context(), id, http.StatusCreated, func(tx pgx.Tx) (any, error) {
		cs, err := h.svc.Create(c.Request().Context(), tx, actor(c), in)
		if err != nil {
			return nil, err
		}
		return createResponse{ID: cs.ID, Number: cs.Number, State: cs.State, Version: cs.Version, TrackingCode: cs.TrackingCode}, nil
	})
	if err != nil {
		return err
	}
	return writeStored(c, st)
}

func (h *Handler) get(c echo.Context) error {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	cs, err := h.svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(cs.Version)))
	return c.JSON(http.StatusOK, View(cs, h.fullID(c)))
}

// ifMatch reads the case version from If-Match ("3" or 3).
func ifMatch(c echo.Context) (int, error) {
	v := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if v == "" {
		return 0, errMissingVersion
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.Atoi(strings.Trim(v, `"`))
	if err != nil || n <= 0 {
		return 0, daiban.Invalid("If-Match", "案件版本号格式不对，应为数字，例如 \"3\"")
	}
	return n, nil
}

func (h *Handler) act(c echo.Context) error {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	action := c.Param("action")
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var body any
	key, err := readRequest(c, func(raw []byte) (err error) {
		body, err = ParseBody(action, raw)
		return err
	})
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	full := h.fullID(c)
	if key != nil {
		st, err := h.svc.InTx(ctx, key, http.StatusOK, func(tx pgx.Tx) (any, error) {
			cs, err := h.svc.ActTx(ctx, tx, actor(c), id, version, action, body)
			if err != nil {
				return nil, err
			}
			loaded, err := h.svc.Load(ctx, tx, cs.ID)
			return View(loaded, full), err
		})
		if err != nil {
			return err
		}
		return writeStored(c, st)
	}
	if _, err := h.svc.Act(ctx, actor(c), id, version, action, body); err != nil {
		return err
	}
	cs, err := h.svc.Get(ctx, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", strconv.Quote(strconv.Itoa(cs.Version)))
	return c.JSON(http.StatusOK, View(cs, full))
}

func (h *Handler) custody(c echo.Context) error {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	var m Move
	key, err := readRequest(c, func(raw []byte) error { return httpapi.DecodeJSON(raw, &m) })
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	full := h.fullID(c)
	st, err := h.svc.InTx(ctx, key, http.StatusCreated, func(tx pgx.Tx) (any, error) {
		cs, err := h.svc.CustodyTx(ctx, tx, actor(c), id, m)
		return View(cs, full), err
	})
	if err != nil {
		return err
	}
	return writeStored(c, st)
}

// listQuery documents the list's query parameters.
type listQuery struct {
	State   string `query:"state" doc:"案件状态，如 processing"`
	Region  string `query:"region" doc:"地区代码（含下级）"`
	Matter  string `query:"matter" doc:"事项或一件事编码"`
	Handler string `query:"handler" doc:"经办人用户名"`
	Overdue bool   `query:"overdue" doc:"只看已超期"`
	Q       string `query:"q" doc:"编号、申请人姓名或证件号码"`
	Cursor  string `query:"cursor" doc:"上一页应答的 next_cursor"`
	Limit   int    `query:"limit" doc:"每页条数，1 至 200，默认 50"`
}

// listResponse is one page of cases.
type listResponse struct {
	Items      []CaseView `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func (h *Handler) list(c echo.Context) error {
	p := httpapi.CurrentPrincipal(c)
	qp := c.QueryParams()
	for k := range qp {
		switch k {
		case "state", "region", "matter", "handler", "overdue", "q", "cursor", "limit":
		default:
			return daiban.Invalid(k, "不支持的查询条件“%s”", k)
		}
	}
	f := Filter{
		Scope: p.Region, Username: p.Username,
		OwnOnly: !h.authz.Allow(p.Username, p.Region, "case", "read", policies.RelAny),
		State:   qp.Get("state"), Region: qp.Get("region"), Matter: qp.Get("matter"), Handler: qp.Get("handler"),
		Limit: 50,
	}
	if f.State != "" && StateNames[State(f.State)] == "" {
		return daiban.Invalid("state", "没有“%s”这种案件状态", f.State)
	}
	if f.Region != "" && strings.Trim(f.Region, "0123456789") != "" {
		return daiban.Invalid("region", "地区代码应为数字")
	}
	switch qp.Get("overdue") {
	case "", "false", "0":
	case "true", "1":
		f.Overdue = true
	default:
		return daiban.Invalid("overdue", "“是否超期”条件应为是（true）或否（false）")
	}
	// Every free value is checked as text before it reaches SQL: invalid
	// UTF-8 would otherwise come back from PostgreSQL as a 500.
	var err error
	if f.Matter, err = text("matter", f.Matter, 64, false); err != nil {
		return err
	}
	if f.Handler, err = text("handler", f.Handler, 64, false); err != nil {
		return err
	}
	if f.Q, err = text("q", qp.Get("q"), 50, false); err != nil {
		return err
	}
	if l := qp.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return daiban.Invalid("limit", "每页条数应为 1 至 200")
		}
		f.Limit = n
	}
	if cur := qp.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		n, err2 := strconv.ParseInt(string(b), 10, 64)
		if err != nil || err2 != nil || n <= 0 {
			return daiban.Invalid("cursor", "分页游标无效")
		}
		f.Before = n
	}
	list, err := h.svc.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	full := h.fullID(c)
	resp := listResponse{Items: make([]CaseView, 0, len(list))}
	for _, cs := range list {
		v := View(cs, full)
		// Lists never show ID numbers or phones in full (contract).
		v.Applicant.IDNumber, v.Applicant.Phone = MaskID(cs.Applicant.IDNumber), MaskPhone(cs.Applicant.Phone)
		resp.Items = append(resp.Items, v)
	}
	if len(list) == f.Limit {
		resp.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(list[len(list)-1].ID, 10)))
	}
	return c.JSON(http.StatusOK, resp)
}

// CaseView is a case as the API shows it, with the available actions and
// personal numbers masked for those who may not act on it.
type CaseView struct {
	Case
	StateName string   `json:"state_name"`
	Overdue   bool     `json:"overdue"`
	Actions   []string `json:"actions"`
	// ChainProgress is each matter's progress within a 一件事.
	ChainProgress []MatterProgress `json:"chain_progress,omitempty"`
}

// View prepares a case for the API.
func View(c Case, full bool) CaseView {
	if !full {
		c.Applicant.IDNumber, c.Applicant.Phone = MaskID(c.Applicant.IDNumber), MaskPhone(c.Applicant.Phone)
	}
	v := CaseView{Case: c, StateName: StateNames[c.State], Actions: ActionsFrom(c.State, c.PausedFrom)}
	if len(c.Matters) > 1 {
		v.ChainProgress = ChainProgress(c)
	}
	if c.DueDate != "" && c.State.Open() {
		v.Overdue = c.DueDate < calendar.Date(time.Now()).Format("2006-01-02")
	}
	return v
}

// TrackView is what the applicant sees by the tracking code: nothing
// personal.
type TrackView struct {
	Number    string      `json:"number"`
	Title     string      `json:"title"`
	State     State       `json:"state"`
	StateName string      `json:"state_name"`
	Applicant string      `json:"applicant"`
	CreatedAt time.Time   `json:"created_at"`
	DueDate   string      `json:"due_date,omitempty"`
	Progress  []TrackNote `json:"progress"`
	Rated     bool        `json:"rated"`
	CanRate   bool        `json:"can_rate"`

	// DueProvisional: the due date lies past the calendar and may move
	// when the next year's holiday notice is imported.
	DueProvisional bool `json:"due_provisional"`
	// ChainProgress: each matter's status within a 一件事 (no notes).
	ChainProgress []MatterProgress `json:"chain_progress,omitempty"`
}

// TrackNote is a progress note shown to the applicant.
type TrackNote struct {
	At   time.Time `json:"at"`
	Step string    `json:"step,omitempty"`
	Note string    `json:"note"`
}

// Track returns the public view of a case by its tracking code: only the
// notes meant for the applicant (trackNotes).
func Track(c Case) TrackView {
	v := TrackView{Number: c.Number, Title: c.Title, State: c.State, StateName: StateNames[c.State], Applicant: MaskName(c.Applicant.Name), CreatedAt: c.CreatedAt, DueDate: c.DueDate, Progress: []TrackNote{}, Rated: c.Rating != 0}
	v.CanRate = c.State == Closed && c.Rating == 0
	v.DueProvisional = c.DueProvisional
	for _, e := range c.Timeline {
		if note := e.ApplicantNote(); note != "" {
			v.Progress = append(v.Progress, TrackNote{At: e.At, Step: e.Step, Note: note})
		}
	}
	if len(c.Matters) > 1 {
		v.ChainProgress = ChainProgress(c)
		for i := range v.ChainProgress {
			v.ChainProgress[i].Note = ""
		}
	}
	return v
}

func (h *Handler) track(c echo.Context) error {
	cs, err := h.svc.Track(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Track(cs))
}

func (h *Handler) trackEvaluate(c echo.Context) error {
	var b evaluateBody
	if err := httpapi.Bind(c, &b); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cs, err := h.svc.Track(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, h.svc.pool, func(tx pgx.Tx) error {
		_, err := h.svc.ActTx(ctx, tx, Actor{Username: "applicant"}, cs.ID, cs.Version, ActEvaluate, &b)
		return err
	})
	if daiban.ErrorCode(err) == daiban.EVERSIONCONFLICT {
		return daiban.Errorf(daiban.EVERSIONCONFLICT, "案件刚刚有更新，请刷新后重试")
	} else if err != nil {
		return err
	}
	cs, err = h.svc.Track(ctx, c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Track(cs))
}
