package cases

import "strings"

// What the applicant's tracking page shows of a case's timeline is a
// whitelist by entry type: only what the applicant must know or act on.
// The rest — suspend and resume reasons, a higher authority's reply note,
// 督办 notes, custody, documents, assignments, progress the agent did not
// mark for the applicant — stays with the staff, whatever an entry's
// public_note says (older entries wrote the reasons there).
var trackNotes = map[string]func(e Event) string{
	// A supplement names the materials the applicant must bring; a
	// decline is the outcome.
	"case." + ActReview: func(e Event) string { return e.Public },
	// Only progress the agent marked for the applicant carries a note.
	"case." + ActProgress: func(e Event) string { return e.Public },
	// The higher authority's decision, without its note.
	"case." + ActReply: func(e Event) string {
		decision, _, _ := strings.Cut(e.Public, "：")
		return decision
	},
	// That the case paused and went on, without the reasons.
	"case." + ActSuspend: func(Event) string { return pauseNotes[ActSuspend] },
	"case." + ActResume:  func(Event) string { return pauseNotes[ActResume] },
	// Results to collect, and the end of the case: outcomes.
	"case." + ActResults:   func(e Event) string { return e.Public },
	"case." + ActTerminate: func(e Event) string { return e.Public },
	// Results posted: carrier and waybill (no address).
	"case.dispatched": func(e Event) string { return e.Public },
}

// fixedTrackNotes are steps the applicant sees in the same words whatever
// the entry holds.
var fixedTrackNotes = map[string]string{
	"case." + EventAgreement:  "已签订委托协议，开始计算办理时限",
	"case." + EventHandedOver: "办理结果已当面交付并签收，本件办结",
	"case." + EventPosted:     "办理结果已邮寄送达并确认签收，本件办结",
}

// ApplicantNote is what the applicant's tracking page shows of the entry
// ("" for nothing).
func (e Event) ApplicantNote() string {
	if n, ok := fixedTrackNotes[e.Type]; ok {
		return n
	}
	f, ok := trackNotes[e.Type]
	if !ok || e.Public == "" {
		return ""
	}
	return f(e)
}

// pauseNotes are what the applicant reads of a suspend or a resume.
var pauseNotes = map[string]string{ActSuspend: "案件暂停办理", ActResume: "案件恢复办理"}
