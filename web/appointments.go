package web

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
)

// 网上预约 pages: the public booking form and a booking's own page (by its
// code: confirm with the code from the text message, or cancel), and the
// staff page where a township's slots are opened.

type bookData struct {
	Townships []regionOption
	Chains    []catalog.GuideEntry
	Matters   []catalog.GuideEntry
	Slots     []appointments.Slot
	Region    string
	Matter    string
	Form      *form
}

func (p *Pages) bookPage(c echo.Context) error {
	f := publicForm(c, "book")
	f.Values.Set("region", c.QueryParam("region"))
	f.Values.Set("matter", c.QueryParam("matter"))
	return p.renderBook(c, http.StatusOK, f)
}

func (p *Pages) renderBook(c echo.Context, status int, f *form) error {
	ctx := c.Request().Context()
	d := bookData{Region: f.Value("region"), Matter: f.Value("matter"), Form: f}
	rs, err := p.Regions.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Level == "township" {
			d.Townships = append(d.Townships, regionOption{Code: r.Code, Name: r.Name})
		}
	}
	idx, err := p.Catalog.GuideIndex(ctx)
	if err != nil {
		return err
	}
	for _, e := range idx {
		if e.Kind == "chain" {
			d.Chains = append(d.Chains, e)
		} else {
			d.Matters = append(d.Matters, e)
		}
	}
	if d.Region != "" {
		d.Slots, err = p.Appointments.Slots(ctx, d.Region, "")
		if daiban.ErrorCode(err) == daiban.EINVALID {
			f.Errors["region"], err = daiban.ErrorMessage(err), nil
		}
		if err != nil {
			return err
		}
	}
	return p.Render(c, status, "appointments", view{Title: "网上预约", Data: d})
}

func (p *Pages) book(c echo.Context) error {
	f := postedPublicForm(c, "book")
	if err := p.checkPublicForm(c); err != nil {
		return p.renderBook(c, refusePublic(f, err), f)
	}
	b := appointments.Booking{Region: f.Value("region"), Matter: f.Value("matter"), Slot: f.Value("slot"), Name: f.Value("name"), Phone: f.Value("phone")}
	var key *cases.Idem
	if k := f.Value("idem"); k != "" && len(k) <= 64 {
		// The form sent twice (a double tap, a retry) books once.
		h := sha256.Sum256([]byte("web book\n" + b.Region + "\n" + b.Matter + "\n" + b.Slot + "\n" + b.Name + "\n" + b.Phone))
		key = &cases.Idem{User: "public:appointments", Key: "web:" + k, Hash: h[:]}
	}
	res, err := p.Appointments.Book(c.Request().Context(), b, key)
	if err != nil {
		status, ferr := f.fail(err, same)
		if ferr != nil {
			return ferr
		}
		return p.renderBook(c, status, f)
	}
	msg := "预约成功。确认码已通过短信发送到您的手机，请在下方输入确认码完成确认；也可到窗口确认。"
	if !res.CodeSent {
		msg = "预约成功。确认码短信暂未发出，请到窗口出示预约码确认。"
	}
	setFlash(c, flash{Kind: "ok", Message: msg})
	return seeOther(c, "/appointments/"+url.PathEscape(res.Code))
}

type bookingData struct {
	Booking *appointments.Appointment
	Title   string
	Form    *form
	Code    string
}

func (p *Pages) bookingPage(c echo.Context) error {
	return p.renderBooking(c, http.StatusOK, publicForm(c, "booking"))
}

func (p *Pages) renderBooking(c echo.Context, status int, f *form) error {
	ctx := c.Request().Context()
	d := bookingData{Form: f, Code: c.Param("code")}
	a, err := p.Appointments.Get(ctx, d.Code)
	if daiban.ErrorCode(err) == daiban.ENOTFOUND {
		return p.Render(c, http.StatusNotFound, "booking", view{Title: "我的预约", Data: d})
	} else if err != nil {
		return err
	}
	d.Booking = &a
	if g, err := p.Catalog.Guide(ctx, a.Matter); err == nil {
		d.Title = g.Name
	}
	return p.Render(c, status, "booking", view{Title: "我的预约", Data: d})
}

// bookingAct confirms (with the one-time code) or cancels a booking.
func (p *Pages) bookingAct(c echo.Context) error {
	f := postedPublicForm(c, "booking")
	if err := p.checkPublicForm(c); err != nil {
		return p.renderBooking(c, refusePublic(f, err), f)
	}
	ctx, code := c.Request().Context(), c.Param("code")
	if act := c.Param("act"); act != "confirm" && act != "cancel" {
		return daiban.Errorf(daiban.ENOTFOUND, "页面不存在")
	}
	var err error
	msg := "预约已确认，请按时到便民服务中心窗口，出示预约码即可。"
	if c.Param("act") == "cancel" {
		_, err = p.Appointments.Cancel(ctx, code)
		msg = "预约已取消。"
	} else {
		_, err = p.Appointments.Confirm(ctx, code, f.Value("otp"))
	}
	if err != nil {
		status, ferr := f.fail(err, same)
		if ferr != nil {
			return ferr
		}
		return p.renderBooking(c, status, f)
	}
	setFlash(c, flash{Kind: "ok", Message: msg})
	return seeOther(c, "/appointments/"+url.PathEscape(strings.ToUpper(code)))
}

type slotsData struct {
	Townships []regionOption
	Slots     []appointments.Slot
	Names     map[string]string
	Form      *form
	Opened    *appointments.Opened
}

func (p *Pages) slotsPage(c echo.Context) error {
	return p.renderSlots(c, http.StatusOK, newForm(c, "slots"), nil)
}

func (p *Pages) renderSlots(c echo.Context, status int, f *form, opened *appointments.Opened) error {
	ctx := c.Request().Context()
	pr := httpapi.CurrentPrincipal(c)
	d := slotsData{Form: f, Opened: opened, Names: map[string]string{}}
	rs, err := p.Regions.List(ctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.Names[r.Code] = r.Name
		if r.Level == "township" && strings.HasPrefix(r.Code, pr.Region) {
			d.Townships = append(d.Townships, regionOption{Code: r.Code, Name: r.Name})
		}
	}
	if d.Slots, err = p.Appointments.SlotsInScope(ctx, pr.Region); err != nil {
		return err
	}
	return p.Render(c, status, "slots", view{Title: "预约时段", Data: d})
}

func (p *Pages) openSlots(c echo.Context) error {
	f := postedForm(c, "slots")
	am, _ := strconv.Atoi(f.Value("am"))
	pm, _ := strconv.Atoi(f.Value("pm"))
	o := appointments.Opening{Region: f.Value("region"), From: f.Value("from"), To: f.Value("to"), AM: am, PM: pm}
	err := httpapi.Authorize(c, o.Region, "appointment", "manage", policies.RelAny)
	var opened appointments.Opened
	if err == nil {
		opened, err = p.Appointments.Open(c.Request().Context(), httpapi.CurrentPrincipal(c).Username, o)
	}
	if err != nil {
		status, ferr := f.fail(err, same)
		if ferr != nil {
			return ferr
		}
		return p.renderSlots(c, status, f, nil)
	}
	return p.renderSlots(c, http.StatusOK, newForm(c, "slots"), &opened)
}

// todaysAppointments are the bookings of today in the user's region, for
// the desk (nil for users who may not read them).
func (p *Pages) todaysAppointments(ctx context.Context, pr httpapi.Principal) ([]appointments.Appointment, error) {
	if p.Appointments == nil || !p.Authz.RoleMay(pr.Username, "appointment", "read") {
		return nil, nil
	}
	return p.Appointments.Today(ctx, pr.Region)
}

// prefillFromBooking fills the intake form from a booking (网上预约): the
// applicant's name, phone and matter, the township and channel; the agent
// adds the ID number. The booking is marked arrived with the case.
func (p *Pages) prefillFromBooking(c echo.Context, f *form, code string) error {
	d, err := p.Appointments.Details(c.Request().Context(), code)
	if err == nil {
		err = httpapi.Authorize(c, d.Region, "appointment", "read", policies.RelAny)
	}
	if err != nil {
		return err
	}
	in := d.NewCase("person", "", "", "")
	f.Values.Set("appointment", d.Code)
	f.Values.Set("name", in.Applicant.Name)
	f.Values.Set("phone", in.Applicant.Phone)
	f.Values.Set("matter", in.Matter)
	f.Values.Set("region", in.Region)
	f.Values.Set("channel", string(in.Channel))
	f.Values.Set("summary", in.Summary)
	return nil
}
