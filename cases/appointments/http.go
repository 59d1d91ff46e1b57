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
		{Method: get, Path: "/api/v1/appointments/slots", Public: true, Handler: s.handleSlots},
		{Method: post, Path: "/api/v1/appointments", Public: true, Handler: s.handleBook},
		{Method: get, Path: "/api/v1/appointments/:code", Public: true, Handler: s.handleGet},
		{Method: post, Path: "/api/v1/appointments/:code/confirm", Public: true, Handler: s.handleConfirm},
		{Method: http.MethodDelete, Path: "/api/v1/appointments/:code", Public: true, Handler: s.handleCancel},

		{Method: post, Path: "/api/v1/appointments/slots", Obj: "appointment", Act: "manage", Handler: s.handleOpen},
		{Method: get, Path: "/api/v1/appointments", Obj: "appointment", Act: "read", Handler: s.handleList},
		{Method: post, Path: "/api/v1/appointments/:code/arrival", Obj: "appointment", Act: "confirm", Handler: s.handleArrival},
		{Method: post, Path: "/api/v1/appointments/:code/case", Obj: "case", Act: "create", Handler: s.handleCase},
	}
}

func (s *Service) handleSlots(c echo.Context) error {
	slots, err := s.Slots(c.Request().Context(), c.QueryParam("region"), c.QueryParam("matter"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": slots})
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
	var req struct {
		OTP string `json:"otp"`
	}
	if err := httpapi.Bind(c, &req); err != nil {
		return err
	}
	a, err := s.Confirm(c.Request().Context(), c.Param("code"), req.OTP)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.Public())
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
	return c.JSON(http.StatusOK, map[string]any{"items": list})
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
	var req struct {
		Kind     string `json:"kind"`
		IDNumber string `json:"id_number"`
		Region   string `json:"region"`
		Summary  string `json:"summary"`
	}
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
	return c.JSON(http.StatusCreated, map[string]any{"id": cs.ID, "number": cs.Number, "tracking_code": cs.TrackingCode, "state": cs.State})
}
