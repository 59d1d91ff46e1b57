package notify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/notify"
)

// TestTextsFitOneSMS renders every template with the longest detail and a
// tracking link of the default center's address: each stays under 70
// characters and carries the link.
func TestTextsFitOneSMS(t *testing.T) {
	t.Parallel()
	// The demo's address, and a county's public one over HTTPS (the text
	// drops the words leading to the link to stay one message).
	for _, base := range []string{"http://127.0.0.1:8080", "https://zwfw.yiyuan.gov.cn"} {
		link := base + "/track/ABCDEFGHJKMN"
		if !notify.LinkFits(base) {
			t.Errorf("%s: some text does not fit", base)
		}
		for event := range notify.Templates {
			for _, detail := range []string{"承诺12月31日", "暂定12月31日", "不予受理"} {
				text := notify.Text(event, detail, link)
				if n := notify.TextLen(text); n >= notify.MaxText {
					t.Errorf("%s: %d characters: %s", event, n, text)
				}
				if !strings.HasSuffix(text, link) {
					t.Errorf("%s: no link at the end: %s", event, text)
				}
			}
		}
	}
	if notify.LinkFits("https://zwfw.yiyuan-county-government-service-center.gov.cn/daiban") {
		t.Error("a 60-character address fits, it cannot")
	}
	link := "http://127.0.0.1:8080/track/ABCDEFGHJKMN"
	if text := notify.Text("appointment_confirmed", "", link); !strings.HasSuffix(text, link) {
		t.Errorf("an event without a template gets no generic text: %s", text)
	}
}

// TestEventsOfChanges maps case changes to what the applicant is told.
func TestEventsOfChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ev   cases.ApplicantEvent
		want []string
	}{
		{"intake", cases.ApplicantEvent{Action: "create", To: cases.Consultation}, []string{notify.Intake}},
		{"supplement", cases.ApplicantEvent{Action: cases.ActReview, From: cases.Consultation, To: cases.AwaitingMaterials}, []string{notify.MaterialsNeeded}},
		{"supplement again", cases.ApplicantEvent{Action: cases.ActReview, From: cases.AwaitingMaterials, To: cases.AwaitingMaterials}, []string{notify.MaterialsNeeded}},
		{"returned by the upper level", cases.ApplicantEvent{Action: cases.ActReply, From: cases.Escalated, To: cases.AwaitingMaterials}, []string{notify.MaterialsNeeded}},
		{"accept", cases.ApplicantEvent{Action: cases.ActReview, From: cases.Consultation, To: cases.AgreementPending}, nil},
		{"agreement", cases.ApplicantEvent{Action: cases.EventAgreement, From: cases.AgreementPending, To: cases.Delegated, Due: "2026-12-11"}, []string{notify.Delegated}},
		{"escalate", cases.ApplicantEvent{Action: cases.ActEscalate, From: cases.Processing, To: cases.Escalated}, []string{notify.Escalated}},
		{"reply", cases.ApplicantEvent{Action: cases.ActReply, From: cases.Escalated, To: cases.Processing}, []string{notify.Replied}},
		{"results", cases.ApplicantEvent{Action: cases.ActResults, From: cases.Processing, To: cases.ReadyForHandover}, []string{notify.ResultsReady}},
		{"handover", cases.ApplicantEvent{Action: cases.EventHandedOver, From: cases.ReadyForHandover, To: cases.Closed}, []string{notify.HandedOver}},
		{"guided", cases.ApplicantEvent{Action: cases.ActGuide, From: cases.Consultation, To: cases.Closed}, []string{notify.Closed}},
		{"declined", cases.ApplicantEvent{Action: cases.ActReview, From: cases.Consultation, To: cases.Declined}, []string{notify.Closed}},
		{"terminated", cases.ApplicantEvent{Action: cases.ActTerminate, From: cases.Processing, To: cases.Terminated}, []string{notify.Closed}},
		{"resumed later", cases.ApplicantEvent{Action: cases.ActResume, From: cases.Suspended, To: cases.Processing, PrevDue: "2026-12-11", Due: "2026-12-15"}, []string{notify.DeadlineChanged}},
		{"progress", cases.ApplicantEvent{Action: cases.ActProgress, From: cases.Processing, To: cases.Processing, PrevDue: "2026-12-11", Due: "2026-12-11"}, nil},
		{"rating", cases.ApplicantEvent{Action: cases.ActEvaluate, From: cases.Closed, To: cases.Closed, Rating: 5}, nil},
	} {
		if got := notify.Events(tc.ev); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
