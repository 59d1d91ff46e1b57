package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies/httpapi"
)

// form is one form on a page: what the user typed, what to fix (by form
// field; "" for the form as a whole) and the idempotency key the form
// carries.
type form struct {
	Name   string
	Values url.Values
	Errors map[string]string
	Idem   string
	// CSRF and Version go into the form's hidden fields (template
	// "hidden"): the session's token and, on a case's action forms, the
	// case version the form was shown with.
	CSRF    string
	Version int
	lead    string // see Lead
}

// newForm is a fresh form for the signed-in user (none on public pages).
func newForm(c echo.Context, name string) *form {
	return blankForm(name, httpapi.CurrentPrincipal(c).CSRFToken)
}

func blankForm(name, csrf string) *form {
	return &form{Name: name, Values: url.Values{}, Errors: map[string]string{}, Idem: newKey(), CSRF: csrf}
}

// postedForm is the form as it came back, for showing it again: the same
// values and the same idempotency key (nothing was stored under it).
func postedForm(c echo.Context, name string) *form {
	f := newForm(c, name)
	if vals, err := c.FormParams(); err == nil {
		f.Values = vals
	}
	if k := f.Values.Get("idem"); k != "" && len(k) <= 64 {
		f.Idem = k
	}
	return f
}

// Value is the typed value of a field.
func (f *form) Value(field string) string { return f.Values.Get(field) }

// Has reports whether a checkbox or option value was chosen.
func (f *form) Has(field, value string) bool {
	for _, v := range f.Values[field] {
		if v == value {
			return true
		}
	}
	return false
}

// fieldError is one field to fix, for the summary at the top of a form.
type fieldError struct {
	ID, Msg string
}

// Lead opens the summary of a refused form: 未保存 for a form that saves,
// or what did not happen (a report form: 未生成).
func (f *form) Lead() string {
	if f.lead != "" {
		return f.lead
	}
	return "未保存"
}

// FieldErrors lists the fields to fix, each with the id of its input (as
// template "field" names it) for a link, in field-name order.
func (f *form) FieldErrors() []fieldError {
	var out []fieldError
	for name, msg := range f.Errors {
		if name != "" {
			out = append(out, fieldError{ID: fieldID(f.Name, name), Msg: msg})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// fieldID is the id of a form's input: template "field" and the tables
// of rows (review, handover) name inputs the same way.
func fieldID(form, name string) string {
	return idReplacer.Replace(form + "-" + name)
}

var idReplacer = strings.NewReplacer(".", "-", "_", "-")

// Err is the message for a field ("" for the whole form).
func (f *form) Err(field string) string { return f.Errors[field] }

// fail records a service error on the form: the message goes next to the
// form field that the error's field maps to (through fieldOf; unmapped
// fields go to the top of the form). It returns the HTTP status to answer
// with, or the error itself when it is not one a user can fix by changing
// the form (internal, unavailable: those become the error page).
func (f *form) fail(err error, fieldOf func(string) string) (int, error) {
	code := daiban.ErrorCode(err)
	if code == daiban.EINTERNAL || code == daiban.EUNAVAILABLE {
		return 0, err
	}
	field := fieldOf(daiban.ErrorField(err))
	msg := daiban.ErrorMessage(err)
	switch code {
	case daiban.EVERSIONCONFLICT:
		msg = "案件刚刚已被更新（页面已刷新为最新情况），请核对后重新提交。"
		field = ""
	case daiban.EINVALIDTRANSITION:
		field = ""
	}
	if prev := f.Errors[field]; prev != "" {
		msg = prev + " " + msg
	}
	f.Errors[field] = msg
	return httpapi.Status(err), nil
}

// SignLink reports whether the flash carries a signing link, which the
// signing pages show large with a QR code for the tablet.
func (f *flash) SignLink() bool { return strings.HasPrefix(f.Link, "/sign/") }

// fieldSpec is one labelled input for the template "field".
type fieldSpec struct {
	F                               *form
	ID, Name, Label, Type           string
	Hint, Placeholder, Inputmode    string
	Autocomplete, Min, Max, Pattern string
	Rows                            int
	Required                        bool
}

// field describes an input of form f for the template "field"; opts are
// "required" and key=value pairs: type (text, textarea, date, number,
// tel, password), hint, placeholder, inputmode, autocomplete, min, max,
// pattern, rows.
func field(f *form, name, label string, opts ...string) fieldSpec {
	fs := fieldSpec{F: f, ID: fieldID(f.Name, name), Name: name, Label: label, Type: "text", Rows: 3}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "required":
			fs.Required = true
		case "type":
			fs.Type = v
		case "hint":
			fs.Hint = v
		case "placeholder":
			fs.Placeholder = v
		case "inputmode":
			fs.Inputmode = v
		case "autocomplete":
			fs.Autocomplete = v
		case "min":
			fs.Min = v
		case "max":
			fs.Max = v
		case "pattern":
			fs.Pattern = v
		case "rows":
			fs.Rows, _ = strconv.Atoi(v)
		}
	}
	return fs
}

// same is the field mapping of forms whose fields carry the API's names.
func same(field string) string { return field }

// atTop puts every message at the top of the form (forms with no fields
// of their own: a button).
func atTop(string) string { return "" }

// newKey returns a fresh idempotency key for a form.
func newKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// idem returns the idempotency identity of a posted form: the key the
// form carried when it was shown, for this user and this form's address.
// The form's values are deliberately not part of it: every sending of
// one shown form is the same request, so a resend after a lost answer —
// even with a field touched up — finds what the first one did rather than
// doing it again.
func idem(c echo.Context) (*cases.Idem, error) {
	key := c.FormValue("idem")
	if key == "" {
		return nil, nil
	}
	if len(key) > 64 {
		return nil, daiban.Invalid("idem", "表单标识无效，请刷新页面后重试")
	}
	h := sha256.Sum256([]byte("web " + c.Request().Method + " " + c.Request().URL.Path))
	return &cases.Idem{User: httpapi.CurrentPrincipal(c).Username, Key: "web:" + key, Hash: h[:]}, nil
}

// flash is the message the page after a redirect shows once: what was
// done, or a link to open (a signing link for the tablet, a document).
type flash struct {
	Kind     string `json:"k"` // "ok" or "bad"
	Message  string `json:"m"`
	Link     string `json:"l,omitempty"`
	LinkText string `json:"t,omitempty"`
}

const flashCookie = "daiban_flash"

// setFlash keeps a message for the next page this browser shows.
func setFlash(c echo.Context, f flash) {
	b, _ := json.Marshal(f)
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/", MaxAge: 120,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
}

// takeFlash reads and clears the message; links other than a signing
// link, a document or an intake receipt of this site are dropped.
func takeFlash(c echo.Context) *flash {
	ck, err := c.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	c.SetCookie(&http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return nil
	}
	var f flash
	if json.Unmarshal(b, &f) != nil || f.Message == "" {
		return nil
	}
	if f.Kind != "bad" {
		f.Kind = "ok"
	}
	if !strings.HasPrefix(f.Link, "/sign/") && !strings.HasPrefix(f.Link, "/api/v1/documents/") && !receiptPath.MatchString(f.Link) {
		f.Link = ""
	}
	return &f
}

// caseID is the :id of a case route (the guard has found the case).
func caseID(c echo.Context) int64 {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	return id
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
