// Package cases is the case lifecycle of the 帮办代办 desk: opening a case
// at the counter or in a village, material review, the delegation, tracked
// processing with escalation to higher authorities, results, handover and
// rating. Every action is one transaction that changes the case and appends
// its ledger entry together, or does neither.
package cases

import (
	"time"

	"github.com/daiban/daiban/policies"
)

// Applicant is the person or enterprise the case is for.
type Applicant struct {
	Kind     string `json:"kind" enum:"person,enterprise" doc:"person 个人（身份证号码），enterprise 企业（统一社会信用代码）"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
}

// Material is a required material of the case with the review's findings
// and the current holder of the original.
type Material struct {
	Code             string `json:"code"`
	Name             string `json:"name"`
	RequiredOriginal bool   `json:"required_original"`
	RequiredCount    int    `json:"required_count"`
	Received         bool   `json:"received"`
	Original         bool   `json:"original"`
	Pages            int    `json:"pages"`
	Holder           string `json:"holder"`
}

// Escalation is a forwarding to a higher authority (转报上级).
type Escalation struct {
	Level     string     `json:"level"`
	Authority string     `json:"authority"`
	Tracker   string     `json:"tracker"`
	ReplyDue  string     `json:"reply_due"`
	Note      string     `json:"note"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RepliedAt *time.Time `json:"replied_at,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	ReplyNote string     `json:"reply_note,omitempty"`
}

// HandoverItem is a result or returned original to hand over in person.
type HandoverItem struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Number       string `json:"number"`
	MaterialCode string `json:"material_code,omitempty"`
	Verified     bool   `json:"verified"`
}

// CustodyMove is one hand-over of an original material.
type CustodyMove struct {
	Material string    `json:"material"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Count    int       `json:"count"`
	Note     string    `json:"note"`
	Actor    string    `json:"actor"`
	At       time.Time `json:"at"`
}

// Rectification is the 差评 item a poor rating opens.
type Rectification struct {
	// Source is what opened it: rating (a rating of 2 or less; Rating
	// holds it) or hotline (a 12345 complaint; Rating is 0).
	Source   string     `json:"source"`
	Rating   int        `json:"rating"`
	Comment  string     `json:"comment"`
	Status   string     `json:"status"`
	OpenedAt time.Time  `json:"opened_at"`
	DueDate  string     `json:"due_date"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
	Result   string     `json:"result,omitempty"` // what was done about it (整改结果)

	// DueProvisional: an open rectification due past the calendar.
	DueProvisional bool `json:"due_provisional,omitempty"`
}

// Case is a case with everything recorded on it.
type Case struct {
	ID            int64      `json:"id"`
	Number        string     `json:"number"`
	TrackingCode  string     `json:"tracking_code"`
	Region        string     `json:"region"`
	Channel       Channel    `json:"channel" enum:"counter,village,hotline,online"`
	MatterCode    string     `json:"matter,omitempty"`
	ChainCode     string     `json:"chain,omitempty"`
	Title         string     `json:"title"`
	Matters       []string   `json:"matters"`
	Complexity    string     `json:"complexity"`
	LimitDays     int        `json:"limit_days"`
	Mode          string     `json:"mode,omitempty"`
	Applicant     Applicant  `json:"applicant"`
	Summary       string     `json:"summary"`
	State         State      `json:"state"`
	PausedFrom    State      `json:"paused_from,omitempty"`
	Outcome       string     `json:"outcome,omitempty"`
	Version       int        `json:"version"`
	CreatedBy     string     `json:"created_by"`
	Assignee      string     `json:"assignee,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	DelegatedAt   *time.Time `json:"delegated_at,omitempty"`
	DueDate       string     `json:"due_date,omitempty"`
	Rating        int        `json:"rating,omitempty"`
	RatingComment string     `json:"rating_comment,omitempty"`

	// DueProvisional: the open case's due date lies in a year the
	// calendar in force has no holiday notice for (see Provisional).
	DueProvisional bool `json:"due_provisional"`

	// Loaded with the details.
	Materials     []Material     `json:"materials,omitempty"`
	Escalation    *Escalation    `json:"escalation,omitempty"`
	Escalations   []Escalation   `json:"escalations,omitempty"`
	HandoverItems []HandoverItem `json:"handover_items,omitempty"`
	Timeline      []Event        `json:"timeline,omitempty"`
	Custody       []CustodyMove  `json:"custody,omitempty"`
	Rectification *Rectification `json:"rectification,omitempty"`
	Documents     []DocumentRef  `json:"documents"`
}

// DocumentRef is a sealed document listed on its case.
type DocumentRef struct {
	ID       int64     `json:"id"`
	Kind     string    `json:"kind"`
	SHA256   string    `json:"sha256"`
	IssuedAt time.Time `json:"issued_at"`
	// AwaitingTimestamp: sealed while the time-stamping service did not
	// answer; a document timestamp is added when it does.
	AwaitingTimestamp bool `json:"awaiting_timestamp"`
}

// Actor is who performs an action.
type Actor struct {
	Username string
	Role     policies.Role
	Region   string
}
