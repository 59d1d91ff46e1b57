package appointments

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// Routes returns the booking endpoints: public ones for applicants (no
// account; the booking code is the key) and staff ones.
func (s *Service) Routes() []httpapi.Route {
	get, post := http.MethodGet, http.MethodPost
	return []httpapi.Route{
		{Method: get, Path: "/api/v1/appointments/slots", Public: true, Handler: s.handleSlots,
			Doc: httpapi.Doc{Summary: "镇（街道）便民服务中心可预约的时段（仅工作日，62 天内）", Query: slotsQuery{}, Response: slotsResponse{}}},
		{Method: post, Path: "/api/v1/appointments", Public: true, Handler: s.handleBook,
			Doc: httpapi.Doc{Summary: "网上预约：占用一个时段名额，向手机发送确认码", Request: Booking{}, Response: BookResult{}, Status: http.StatusCreated, Idempotent: true,
				Errors: []string{daiban.ENOTFOUND}, Notes: "幂等键按请求内容区分：同一键重发同一预约得到第一次的应答（code_sent 为 false，不再发短信）；同一键用于另一预约答 422。地区代码不存在时答 404。"}},
		{Method: get, Path: "/api/v1/appointments/:code", Public: true, Handler: s.handleGet,
			Doc: httpapi.Doc{Summary: "凭预约码查看预约（姓名、手机号脱敏）", Response: Appointment{}}},
		{Method: post, Path: "/api/v1/appointments/:code/confirm", Public: true, Handler: s.handleConfirm,
			Doc: httpapi.Doc{Summary: "申请人以短信确认码确认预约（连续错误 5 次后失效）", Request: confirmRequest{}, Response: Appointment{}, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: http.MethodDelete, Path: "/api/v1/appointments/:code", Public: true, Handler: s.handleCancel,
			Doc: httpapi.Doc{Summary: "申请人凭预约码取消预约，释放名额", Response: Appointment{}, Errors: []string{daiban.EINVALIDTRANSITION}}},

		{Method: post, Path: "/api/v1/appointments/slots", Obj: "appointment", Act: "manage", Handler: s.handleOpen,
			Doc: httpapi.Doc{Summary: "开放（或调整）预约时段：区间内每个工作日上午、下午的名额", Request: Opening{}, Response: Opened{}, Errors: []string{daiban.ENOTFOUND},
				Notes: "地区须为本人管辖范围内的镇（街道）；非工作日跳过并列在 skipped 中；名额不会低于已预约数。"}},
		{Method: get, Path: "/api/v1/appointments", Obj: "appointment", Act: "read", Handler: s.handleList,
			Doc: httpapi.Doc{Summary: "某日的预约（本人管辖范围，默认今天）", Query: listQuery{}, Response: listResponse{}}},
		{Method: post, Path: "/api/v1/appointments/:code/arrival", Obj: "appointment", Act: "confirm", Handler: s.handleArrival,
			Doc: httpapi.Doc{Summary: "窗口为到场申请人确认预约", Response: Appointment{}, Errors: []string{daiban.EINVALIDTRANSITION}}},
		{Method: post, Path: "/api/v1/appointments/:code/case", Obj: "case", Act: "create", Handler: s.handleCase,
			Doc: httpapi.Doc{Summary: "由预约受理案件（带入姓名、手机号、事项与镇街）", Request: caseRequest{}, Response: caseResponse{}, Status: http.StatusCreated,
				Errors: []string{daiban.EDUPLICATE}, Notes: "region、summary 缺省时取预约的镇街与“网上预约（预约码 …）”；同一申请人同一事项已有在办案件时答 409 duplicate。"}},
	}
}

func (s *Service) handleSlots(c echo.Context) error {
	slots, err := s.Slots(c.Request().Context(), c.QueryParam("region"), c.QueryParam("matter"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, slotsResponse{Items: slots})
}

// slotsQuery is the query of the open slots.
type slotsQuery struct {
	Region string `query:"region,required" doc:"镇（街道）地区代码"`
	Matter string `query:"matter" doc:"事项或一件事编码（给出时须在事项目录中）"`
}

// slotsResponse is the open slots of a township.
type slotsResponse struct {
	Items []Slot `json:"items"`
}

func (s *Service) handleBook(c echo.Context) error {
	var b Booking
	if err := httpapi.Bind(c, &b); err != nil {
		return err
	}
	var idem *cases.Idem
	if key := c.Request().Header.Get("Idempotency-Key"); key != "" {
		if len(key) > 200 {
			return daiban.Invalid("Idempotency-Key", "请求幂等键过长（最多 200 个字符）")
		}
		// Keyed by the request itself: only the same booking again (same
		// key, same name, phone, slot and matter) finds the first answer.
		body, _ := json.Marshal(b)
		h := sha256.Sum256(append([]byte("POST /api/v1/appointments\n"), body...))
		idem = &cases.Idem{User: "public:appointments", Key: key, Hash: h[:]}
	}
	res, err := s.Book(c.Request().Context(), b, idem)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

func (s *Service) handleGet(c echo.Context) error {
	a, err := s.Get(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (s *Service) handleConfirm(c echo.Context) error {
	var req confirmRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	a, err := s.Confirm(c.Request().Context(), c.Param("code"), req.OTP)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.Public())
}

// confirmRequest is the one-time code sent to the applicant's phone.
type confirmRequest struct {
	OTP string `json:"otp" doc:"短信中的确认码"`
}

func (s *Service) handleCancel(c echo.Context) error {
	a, err := s.Cancel(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.Public())
}

func (s *Service) handleOpen(c echo.Context) error {
	var o Opening
	if err := httpapi.Bind(c, &o); err != nil {
		return err
	}
	if err := httpapi.Authorize(c, o.Region, "appointment", "manage", policies.RelAny); err != nil {
		return err
	}
	res, err := s.Open(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// handleList lists a day's bookings (today by default) in the user's region.
func (s *Service) handleList(c echo.Context) error {
	d := s.Now()
	if q := c.QueryParam("day"); q != "" {
		t, err := time.Parse(time.DateOnly, q)
		if err != nil {
			return daiban.Invalid("day", "日期格式应为 YYYY-MM-DD")
		}
		d = t.Add(12 * time.Hour)
	}
	list, err := s.On(c.Request().Context(), httpapi.CurrentPrincipal(c).Region, d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse{Items: list})
}

// listQuery picks the day of the bookings' list.
type listQuery struct {
	Day string `query:"day" doc:"日期 YYYY-MM-DD（默认今天）"`
}

// listResponse is a day's bookings.
type listResponse struct {
	Items []Appointment `json:"items"`
}

// scoped finds a booking the user may act on (404 outside the region).
func (s *Service) scoped(c echo.Context, obj, act string) (Details, error) {
	d, err := s.Details(c.Request().Context(), c.Param("code"))
	if err != nil {
		return d, err
	}
	return d, httpapi.Authorize(c, d.Region, obj, act, policies.RelAny)
}

func (s *Service) handleArrival(c echo.Context) error {
	if _, err := s.scoped(c, "appointment", "confirm"); err != nil {
		return err
	}
	a, err := s.ConfirmAtCounter(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// handleCase opens a case from a booking: the agent adds the applicant's
// kind and ID number; region and summary default to the booking's.
func (s *Service) handleCase(c echo.Context) error {
	var req caseRequest
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	d, err := s.scoped(c, "appointment", "read")
	if err != nil {
		return err
	}
	in := d.NewCase(req.Kind, req.IDNumber, req.Region, req.Summary)
	if err := httpapi.Authorize(c, in.Region, "case", "create", policies.RelAny); err != nil {
		return err
	}
	p := httpapi.CurrentPrincipal(c)
	cs, err := s.CaseFrom(c.Request().Context(), cases.Actor{Username: p.Username, Role: p.Role, Region: p.Region}, d.Code, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, caseResponse{ID: cs.ID, Number: cs.Number, State: cs.State, TrackingCode: cs.TrackingCode})
}

// caseRequest is what the agent adds to a booking to open its case.
type caseRequest struct {
	Kind     string `json:"kind" doc:"申请人类型：person（个人）或 enterprise（企业）"`
	IDNumber string `json:"id_number" doc:"证件号码（身份证号或统一社会信用代码）"`
	Region   string `json:"region" doc:"受理地区代码（缺省为预约的镇街）"`
	Summary  string `json:"summary" doc:"摘要（缺省为“网上预约（预约码 …）”）"`
}

// caseResponse is the case opened from a booking.
type caseResponse struct {
	ID           int64       `json:"id"`
	Number       string      `json:"number"`
	State        cases.State `json:"state"`
	TrackingCode string      `json:"tracking_code"`
}
