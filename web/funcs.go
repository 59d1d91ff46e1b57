package web

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"reflect"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cases/reports"
)

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	// dt and date show times in Beijing time, as every date of a case is
	// counted there.
	"dt": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(calendar.Shanghai).Format("2006-01-02 15:04")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(calendar.Shanghai).Format("2006年1月2日")
	},
	// matsOf pairs a matter of the errand form with whether it is the
	// one chosen (its materials show without a script).
	"matsOf": func(o matterOption, chosen string) map[string]any {
		return map[string]any{"O": o, "Shown": o.Code == chosen}
	},
	"stateName":      func(s any) string { return cases.StateNames[toState(s)] },
	"actionName":     func(a string) string { return cases.ActionNames[a] },
	"docName":        func(k string) string { return agreements.KindNames[k] },
	"channelName":    func(ch any) string { return cases.Channel(str(ch)).Name() },
	"channels":       func() []cases.Choice { return cases.ChoicesOf(cases.Channels, cases.Channel.Name) },
	"complexityName": func(c string) string { return catalog.ComplexityNames[c] },
	"levelName":      func(l any) string { return catalog.Level(str(l)).Name() },
	"list":           func(s ...string) []string { return s },
	"caseOutcome":    func(o any) string { return cases.Outcome(str(o)).Name() },
	"resultKindName": func(k any) string { return cases.ResultKind(str(k)).Name() },
	"ratingName":     ratingName,
	"ratingLabel": func(r string) string {
		n, _ := strconv.Atoi(r)
		return ratingName(n)
	},
	"outcomeName": func(o any) string { return cases.Result(str(o)).Name() },
	"maskID":      cases.MaskID,
	"maskPhone":   cases.MaskPhone,
	"holderName":  holderName,
	"stateClass":  func(s any) string { return stateClass(toState(s)) },
	// qr is a PNG QR code of an address, for the tablet to scan.
	"qr": func(s string) template.URL {
		png, err := qrcode.Encode(s, qrcode.Medium, 240)
		if err != nil {
			return ""
		}
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	},
	"seq": func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"add":      func(a, b int) int { return a + b },
	"add1":     func(a, b float64) float64 { return a + b },
	"sub1":     func(a, b float64) float64 { return a - b },
	"pct":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	"f1":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"join":     strings.Join,
	"field":    field,
	"fieldID":  fieldID,
	"linkCard": func(base, link string) linkCard { return linkCard{Base: base, Link: link} },
}

// str is the text of a string or of a value of a string type (a typed
// enumeration), for the label functions the templates call with either.
func str(v any) string {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
		return rv.String()
	}
	return ""
}

// ratingName is the word for a rating of 1 to 5, as the monthly report
// prints it.
func ratingName(r int) string {
	if r < 1 || r > len(reports.RatingLabels) {
		return ""
	}
	return reports.RatingLabels[r-1]
}

// holderName names who holds an original: the applicant, a department or
// a staff user (by username; pages show the user's name where they know it).
func holderName(h string) string {
	switch {
	case h == "applicant":
		return "申请人"
	case strings.HasPrefix(h, "department:"):
		return strings.TrimPrefix(h, "department:")
	}
	return h
}

// toState accepts a state as the cases package types it or as a plain
// string (the supervision lists).
func toState(s any) cases.State { return cases.State(str(s)) }

// stateClass colours a state badge: open work, waiting, done, stopped.
func stateClass(s cases.State) string {
	switch s {
	case cases.Closed:
		return "s-done"
	case cases.Declined, cases.Terminated:
		return "s-stop"
	case cases.AwaitingMaterials, cases.Suspended, cases.Escalated, cases.AgreementPending:
		return "s-wait"
	}
	return "s-open"
}

// linkCard is a signing link with the address it is reached at, for the
// template "signlinkcard".
type linkCard struct{ Base, Link string }
