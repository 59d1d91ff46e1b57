package reports

import "time"

// The figures of a monthly report. They are the API's JSON and what
// agreements/pdf lays out, so the PDF and the JSON cannot disagree.

// Report is one month's dispatch report of a region.
type Report struct {
	// Title is the printed title, e.g. 沂源县帮办代办每月调度报告（2026年10月）.
	Title  string `json:"title"`
	Month  string `json:"month"` // YYYY-MM
	Region Region `json:"region"`
	// From and To are the month's first and last day (YYYY-MM-DD, Beijing
	// time). AsOf is the day the "at month end" figures are taken at: To
	// for a finished month, today for the month in progress (Complete
	// false).
	From     string `json:"from"`
	To       string `json:"to"`
	AsOf     string `json:"as_of"`
	Complete bool   `json:"complete"`
	// Townships has one row per township of the region in code order (a
	// township region: itself), then, when the county itself has cases,
	// a row for the county's own level. Total sums them.
	Townships  []Row         `json:"townships"`
	Total      Row           `json:"total"`
	Overdue    []OverdueCase `json:"overdue"`
	Complaints []Complaint   `json:"complaints"`
	// GeneratedAt is printed on the PDF; it is not part of the figures
	// (the JSON of a month is the same whenever it is asked for).
	GeneratedAt time.Time `json:"-"`
}

// Region is the region a report covers.
type Region struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level string `json:"level"` // county | township
}

// Row is the figures of one township (or of the total).
type Row struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Received counts the cases opened in the month; ByMode splits them by
	// how they are served (undecided: still in consultation, declined or
	// terminated before a mode was chosen).
	Received int   `json:"received"`
	ByMode   Modes `json:"by_mode"`
	// Delegated counts the delegation agreements signed in the month.
	Delegated int `json:"delegated"`
	// Closed counts the cases closed (办结) in the month. Of those,
	// ClosedDelegated were delegated; ClosedOnTime of these closed on or
	// before the due date, ClosedLate after it. OnTimeRate is
	// ClosedOnTime / ClosedDelegated in percent, one decimal, half up;
	// null when no delegated case closed.
	Closed          int      `json:"closed"`
	ClosedDelegated int      `json:"closed_delegated"`
	ClosedOnTime    int      `json:"closed_on_time"`
	ClosedLate      int      `json:"closed_late"`
	OnTimeRate      *float64 `json:"on_time_rate"`
	// CloseWorkdays sums, over the cases closed in the month, the working
	// days from the agreement (or from the case's opening when it was not
	// delegated) to the close; AvgCloseWorkdays is its average, one
	// decimal, half up; null when nothing closed.
	CloseWorkdays    int      `json:"close_workdays"`
	AvgCloseWorkdays *float64 `json:"avg_close_workdays"`
	// OverdueOpen counts the delegated cases open at month end whose due
	// date had passed by then (a finished month: due on or before its
	// last day; the month in progress: before today) while their clock
	// ran (not waiting for materials, suspended or escalated).
	OverdueOpen int            `json:"overdue_open"`
	Escalations Escalations    `json:"escalations"`
	Ratings     Ratings        `json:"ratings"`
	Complaints  ComplaintCount `json:"complaints"`
	// Appointments counts the month's bookings (网上预约) at the township
	// that were not cancelled; NoShows those whose day passed with nobody
	// coming (never turned into a case).
	Appointments int `json:"appointments"`
	NoShows      int `json:"no_shows"`
}

// Modes splits received cases by mode.
type Modes struct {
	Guide     int `json:"guide"`     // 即办
	Accompany int `json:"accompany"` // 领办
	Delegate  int `json:"delegate"`  // 代办
	Undecided int `json:"undecided"` // 未分流
}

// Outcomes counts escalations by their outcome at month end.
type Outcomes struct {
	Total    int `json:"total"`
	Approved int `json:"approved"`
	Returned int `json:"returned"`
	Refused  int `json:"refused"`
	Pending  int `json:"pending"`
}

// Add counts one more group of n escalations with outcome.
func (o *Outcomes) Add(outcome string, n int) {
	o.Total += n
	switch outcome {
	case "approved":
		o.Approved += n
	case "returned":
		o.Returned += n
	case "refused":
		o.Refused += n
	default:
		o.Pending += n
	}
}

// Escalations counts the escalations (转报上级) made in the month, in
// total and per level (city, province, national, in that order).
type Escalations struct {
	Outcomes
	Levels [3]EscalationLevel `json:"by_level"`
}

// EscalationLevel is the escalations to one level.
type EscalationLevel struct {
	Level string `json:"level"`
	Label string `json:"label"`
	Outcomes
}

// EscalationLevels are the levels in report order, with their labels.
var EscalationLevels = [3][2]string{{"city", "市级"}, {"province", "省级"}, {"national", "国家级"}}

// Ratings counts the ratings given in the month by score 1..5.
type Ratings struct {
	Total  int       `json:"total"`
	Levels [5]Rating `json:"levels"`
}

// Rating is the count of one score.
type Rating struct {
	Score int    `json:"score"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

// RatingLabels name the scores 1..5.
var RatingLabels = [5]string{"非常不满意", "不满意", "基本满意", "满意", "非常满意"}

// ComplaintCount counts the 差评 received in the month and where their
// rectification stood at month end; Overdue counts those not rectified by
// their due date (still open past it, or rectified late).
type ComplaintCount struct {
	Total     int `json:"total"`
	Open      int `json:"open"`
	Rectified int `json:"rectified"`
	Overdue   int `json:"overdue"`
}

// OverdueCase is one case of the overdue list.
type OverdueCase struct {
	CaseID       int64  `json:"case_id"`
	Number       string `json:"number"`
	Township     string `json:"township"`
	TownshipName string `json:"township_name"`
	Title        string `json:"title"`
	Handler      string `json:"handler"` // username
	HandlerName  string `json:"handler_name"`
	DelegatedOn  string `json:"delegated_on"`
	DueDate      string `json:"due_date"`
	// Status is "open" (not closed at month end) or "closed_late" (closed
	// in the month after its due date, on ClosedOn).
	Status   string `json:"status"`
	ClosedOn string `json:"closed_on,omitempty"`
	// WorkdaysOverdue counts the working days after the due date up to
	// the close, or up to AsOf for an open case.
	WorkdaysOverdue int `json:"workdays_overdue"`
	// DueProvisional: an open case's due date lies past the calendar
	// (cases.Provisional).
	DueProvisional bool `json:"due_provisional,omitempty"`
}

// Complaint is one 差评 received in the month.
type Complaint struct {
	CaseID       int64  `json:"case_id"`
	Number       string `json:"number"`
	Township     string `json:"township"`
	TownshipName string `json:"township_name"`
	Title        string `json:"title"`
	Rating       int    `json:"rating"`
	RatingLabel  string `json:"rating_label"`
	RatedOn      string `json:"rated_on"`
	DueDate      string `json:"due_date"` // of the rectification
	// Status is "open" or "rectified" (at month end, on RectifiedOn).
	Status      string `json:"status"`
	RectifiedOn string `json:"rectified_on,omitempty"`
	Overdue     bool   `json:"overdue"`
	Handler     string `json:"handler"`
	HandlerName string `json:"handler_name"`
	// DueProvisional: an open rectification's due date lies past the
	// calendar.
	DueProvisional bool `json:"due_provisional,omitempty"`
}
