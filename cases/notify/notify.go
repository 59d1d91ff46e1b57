// Package notify tells applicants what happens to their case, and tells
// the 12345 hotline platform what became of the work orders it sent.
//
// A change writes its notifications into an outbox (table notifications)
// in the change's own transaction: one row per (case, event), so a change
// that rolls back tells nobody and a retried request tells nobody twice.
// River delivers the rows: a periodic dispatch job queues one delivery
// job per row, and the delivery job hands the message to a Sender — the
// active SMS (or platform) partner's webhook for applicant texts, the
// sending partner's webhook for hotline replies, a log line without
// personal data when no partner is set up. River runs a job at least once;
// the delivery writes its unique row in the job's transaction, and the
// webhook carries the notification id so the receiver drops a repeat. A
// row out of attempts is a dead letter an administrator can send again.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Applicant events.
const (
	Intake          = "intake"
	Delegated       = "delegated"
	Escalated       = "escalated"
	Replied         = "replied"
	MaterialsNeeded = "materials_needed"
	ResultsReady    = "results_ready"
	HandedOver      = "handed_over"
	Closed          = "closed"
	DeadlineChanged = "deadline_changed"
)

// Hotline events: the replies to a 12345 work order.
const (
	// HotlineResult is 办理结果: the case (or the rectification of a
	// complaint) is done.
	HotlineResult = "hotline_result"
	// HotlineVisit is the 回访 result: the applicant's rating.
	HotlineVisit = "hotline_visit"
)

// MaxText bounds a notification's text: fewer characters than this (a
// single SMS).
const MaxText = 70

// Templates are the applicant texts per event: fmt verbs take, in order,
// the event's detail (see detail) when the template has two, and the
// tracking link. Packages adding an event add its template here; a test
// keeps each one under MaxText with a real link.
var Templates = map[string]string{
	Intake:          "【政务帮办】您的事项已受理，进度可查：%s",
	Delegated:       "【政务帮办】已委托代办，%s前办结。进度：%s", // detail: 承诺12月31日 or 暂定12月31日
	Escalated:       "【政务帮办】您的事项已报上级审批。进度：%s",
	Replied:         "【政务帮办】上级已答复，继续为您办理。进度：%s",
	MaterialsNeeded: "【政务帮办】需要您补充材料，详见：%s",
	ResultsReady:    "【政务帮办】办理结果已出，请按约定领取。详见：%s",
	HandedOver:      "【政务帮办】结果已交付，事项办结。详见：%s",
	Closed:          "【政务帮办】您的事项已结束（%s）。详见：%s",
	DeadlineChanged: "【政务帮办】办结期限调整为%s。详见：%s",
}

// generic is the text of an event without a template of its own.
const generic = "【政务帮办】您的事项有新进展。详见：%s"

// EventNames are the events' Chinese names (administrator pages).
var EventNames = map[string]string{
	Intake: "受理", Delegated: "委托", Escalated: "报上级", Replied: "上级答复", MaterialsNeeded: "补充材料",
	ResultsReady: "结果已出", HandedOver: "交付", Closed: "结束", DeadlineChanged: "期限调整",
	HotlineResult: "12345 办理结果", HotlineVisit: "12345 回访结果",
}

// Text renders the text of event for the tracking link link, with the
// event's detail (a date, a state name) where its template takes one.
func Text(event, detail, link string) string {
	t, ok := Templates[event]
	if !ok {
		t = generic
	}
	full := fmt.Sprintf(t, link)
	if countVerbs(t) == 2 {
		full = fmt.Sprintf(t, detail, link)
	}
	if TextLen(full) < MaxText {
		return full
	}
	// A long public address: the words that only lead to the link go
	// first, so the text stays one message.
	for _, lead := range []string{"进度可查：", "进度：", "详见："} {
		if strings.Contains(full, lead) {
			return strings.Replace(full, lead, "", 1)
		}
	}
	return full
}

// LinkFits reports whether a tracking link under baseURL leaves every
// template under MaxText (serve warns at start when it does not).
func LinkFits(baseURL string) bool {
	link := baseURL + "/track/XXXXXXXXXXXX"
	for e := range Templates {
		if TextLen(Text(e, "暂定12月31日", link)) >= MaxText {
			return false
		}
	}
	return true
}

func countVerbs(t string) int {
	n := 0
	for i := 0; i+1 < len(t); i++ {
		if t[i] == '%' && t[i+1] == 's' {
			n++
		}
	}
	return n
}

// TextLen is a text's length in characters, as an SMS counts them.
func TextLen(s string) int { return utf8.RuneCountInString(s) }

// Enqueue writes the notification of event about case caseID through db,
// the caller's transaction, once per (case, event) (unless the applicant
// opted out). Other packages call it for events of their own; an event
// that can happen more than once per case uses EnqueueKey.
func Enqueue(ctx context.Context, db dbsqlc.DBTX, caseID int64, event string) error {
	return EnqueueKey(ctx, db, caseID, event, event, nil)
}

// EnqueueKey writes a notification of event keyed key (once per case and
// key) with the template's detail in data["detail"].
func EnqueueKey(ctx context.Context, db dbsqlc.DBTX, caseID int64, event, key string, data map[string]string) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if data == nil {
		b = []byte("{}")
	}
	return dbsqlc.New().NotificationInsert(ctx, db, dbsqlc.NotificationInsertParams{CaseID: caseID, Event: event, EventKey: key, Data: b})
}

// Events returns the applicant events of a case change.
func Events(ev cases.ApplicantEvent) []string {
	var out []string
	switch {
	case ev.Action == "create":
		out = append(out, Intake)
	case ev.Action == cases.EventAgreement:
		out = append(out, Delegated)
	case ev.Action == cases.EventHandedOver:
		out = append(out, HandedOver)
	case ev.To == cases.AwaitingMaterials && (ev.Action == cases.ActReview || ev.Action == cases.ActReply):
		out = append(out, MaterialsNeeded)
	case ev.Action == cases.ActEscalate:
		out = append(out, Escalated)
	case ev.Action == cases.ActReply:
		out = append(out, Replied)
	case ev.Action == cases.ActResults:
		out = append(out, ResultsReady)
	case !ev.To.Open() && ev.From.Open():
		out = append(out, Closed)
	}
	if ev.Due != "" && ev.PrevDue != "" && ev.Due != ev.PrevDue && ev.Action != cases.EventAgreement {
		out = append(out, DeadlineChanged)
	}
	return out
}

// dueDetail is the due date as a text says it: 暂定 when it lies past
// the imported holiday calendar (it may still move), else 承诺 in the
// delegation's text.
func dueDetail(event string, ev cases.ApplicantEvent) string {
	switch {
	case ev.DueProvisional:
		return "暂定" + shortDate(ev.Due)
	case event == Delegated:
		return "承诺" + shortDate(ev.Due)
	}
	return shortDate(ev.Due)
}

// shortDate writes 2026-12-11 as 12月11日 (a text has 70 characters).
func shortDate(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}

// hotline returns the hotline reply of a case change, if any, and the kind
// of work order it answers.
func hotline(ev cases.ApplicantEvent) (event, kind string) {
	switch {
	case ev.Action == "rectified":
		return HotlineResult, "complaint"
	case ev.Action == cases.ActEvaluate && ev.Rating > 0:
		return HotlineVisit, "request"
	case !ev.To.Open() && ev.From.Open():
		return HotlineResult, "request"
	}
	return "", ""
}

// Notify is the cases.Notifier: it writes the outbox rows of a change
// with plain statements (it runs inside an action's write batch).
func Notify(ctx context.Context, db dbsqlc.DBTX, ev cases.ApplicantEvent) error {
	q := dbsqlc.New()
	if ev.OptOut {
		if err := q.NotificationOptOut(ctx, db, ev.CaseID); err != nil {
			return err
		}
	}
	v := strconv.Itoa(ev.Version)
	for _, e := range Events(ev) {
		data := map[string]string{}
		switch e {
		case Delegated, DeadlineChanged:
			data["detail"] = dueDetail(e, ev)
		case Closed:
			data["detail"] = cases.StateNames[ev.To]
		}
		if err := EnqueueKey(ctx, db, ev.CaseID, e, e+"@"+v, data); err != nil {
			return err
		}
	}
	if e, kind := hotline(ev); e != "" {
		data, err := json.Marshal(map[string]any{"state": ev.To, "state_name": cases.StateNames[ev.To], "result": ev.Note, "rating": ev.Rating})
		if err != nil {
			return err
		}
		return q.NotificationInsertHotline(ctx, db, dbsqlc.NotificationInsertHotlineParams{Event: e, EventKey: e + "@" + v, Data: data, CaseID: ev.CaseID, Kind: kind})
	}
	return nil
}
