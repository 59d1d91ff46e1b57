package cases

// State is a case's lifecycle state (contract).
type State string

// The states of the contract.
const (
	Consultation      State = "consultation"
	Accompanying      State = "accompanying"
	AwaitingMaterials State = "awaiting_materials"
	AgreementPending  State = "agreement_pending"
	Delegated         State = "delegated"
	Processing        State = "processing"
	Escalated         State = "escalated"
	Suspended         State = "suspended"
	ReadyForHandover  State = "ready_for_handover"
	Closed            State = "closed"
	Declined          State = "declined"
	Terminated        State = "terminated"
)

// Targets that are not a fixed state.
const (
	// Same keeps the case in its state.
	Same State = "="
	// Resume returns to the state the case was paused from.
	Resume State = "<"
)

// States lists every state in lifecycle order.
var States = []State{Consultation, Accompanying, AwaitingMaterials, AgreementPending, Delegated, Processing, Escalated, Suspended, ReadyForHandover, Closed, Declined, Terminated}

// StateNames are the Chinese labels of the states.
var StateNames = map[State]string{
	Consultation:      "接待咨询",
	Accompanying:      "领办中",
	AwaitingMaterials: "待补材料",
	AgreementPending:  "待签协议",
	Delegated:         "已委托",
	Processing:        "办理中",
	Escalated:         "已转报上级",
	Suspended:         "已中止",
	ReadyForHandover:  "待交付",
	Closed:            "已办结",
	Declined:          "不予受理",
	Terminated:        "已终止",
}

// Open reports whether a case in s is still being worked on.
func (s State) Open() bool { return s != Closed && s != Declined && s != Terminated }

// Actions of the contract, plus the two document events that change state
// (the agreement signed by both parties, the receipt signed at handover).
const (
	ActGuide        = "guide"
	ActAccompany    = "accompany"
	ActComplete     = "complete"
	ActReview       = "review"
	ActSupply       = "supply"
	ActAssign       = "assign"
	ActProgress     = "progress"
	ActEscalate     = "escalate"
	ActReply        = "reply"
	ActSuspend      = "suspend"
	ActResume       = "resume"
	ActResults      = "results"
	ActTerminate    = "terminate"
	ActEvaluate     = "evaluate"
	ActSupervise    = "supervise"
	EventAgreement  = "agreement_signed"
	EventHandedOver = "handed_over"
	// EventPosted: results sent by post (证照到付), delivery confirmed by
	// the applicant on the tracking page or by the carrier's signed proof.
	EventPosted = "posted"
)

// Edge is one row of the state machine: from a state, an action with a
// given result (the review's accept/supplement/decline, the reply's
// outcome; "" when the action has none) leads to a state.
type Edge struct {
	From   State
	Action string
	Result Result
	To     State
	// PausedFrom, when set, further requires the state the case was
	// paused from (a review from awaiting_materials only before the
	// agreement, never for materials an authority asked for later).
	PausedFrom State
	// Outcome is recorded when the edge closes the case.
	Outcome Outcome
}

var openStates = []State{Consultation, Accompanying, AwaitingMaterials, AgreementPending, Delegated, Processing, Escalated, Suspended, ReadyForHandover}

// Machine is the whole lifecycle: the one table the service, the API, the
// UI and the tests read. Nothing else decides a transition.
var Machine = func() []Edge {
	t := []Edge{
		{From: Consultation, Action: ActGuide, To: Closed, Outcome: OutcomeGuided},
		{From: Consultation, Action: ActAccompany, To: Accompanying},
		{From: Accompanying, Action: ActComplete, To: Closed, Outcome: OutcomeAccompanied},

		{From: Consultation, Action: ActReview, Result: Accept, To: AgreementPending},
		{From: Consultation, Action: ActReview, Result: Supplement, To: AwaitingMaterials},
		{From: Consultation, Action: ActReview, Result: Decline, To: Declined, Outcome: OutcomeDeclined},
		{From: AwaitingMaterials, PausedFrom: Consultation, Action: ActReview, Result: Accept, To: AgreementPending},
		{From: AwaitingMaterials, PausedFrom: Consultation, Action: ActReview, Result: Supplement, To: AwaitingMaterials},
		{From: AwaitingMaterials, PausedFrom: Consultation, Action: ActReview, Result: Decline, To: Declined, Outcome: OutcomeDeclined},
		{From: AwaitingMaterials, Action: ActSupply, To: Resume},

		{From: AgreementPending, Action: EventAgreement, To: Delegated},

		{From: Delegated, Action: ActProgress, To: Processing},
		{From: Processing, Action: ActProgress, To: Same},
		{From: Escalated, Action: ActProgress, To: Same},

		{From: Processing, Action: ActEscalate, To: Escalated},
		{From: Escalated, Action: ActReply, Result: Approved, To: Processing},
		{From: Escalated, Action: ActReply, Result: Returned, To: AwaitingMaterials},
		{From: Escalated, Action: ActReply, Result: Refused, To: Processing},

		{From: Delegated, Action: ActSuspend, To: Suspended},
		{From: Processing, Action: ActSuspend, To: Suspended},
		{From: Escalated, Action: ActSuspend, To: Suspended},
		{From: Suspended, Action: ActResume, To: Resume},

		{From: Processing, Action: ActResults, To: ReadyForHandover},
		{From: ReadyForHandover, Action: EventHandedOver, To: Closed, Outcome: OutcomeHandedOver},
		{From: ReadyForHandover, Action: EventPosted, To: Closed, Outcome: OutcomePosted},

		{From: Closed, Action: ActEvaluate, To: Same},
	}
	for _, s := range openStates {
		t = append(t,
			Edge{From: s, Action: ActAssign, To: Same},
			Edge{From: s, Action: ActTerminate, To: Terminated, Outcome: OutcomeTerminated},
		)
	}
	for _, s := range States {
		t = append(t, Edge{From: s, Action: ActSupervise, To: Same})
	}
	return t
}()

// Next finds the edge for an action with a result from a state (and the
// state it was paused from). ok is false when the action is not allowed
// there: the caller answers invalid_transition.
func Next(from, pausedFrom State, action string, result Result) (Edge, bool) {
	for _, e := range Machine {
		if e.From == from && e.Action == action && e.Result == result && (e.PausedFrom == "" || e.PausedFrom == pausedFrom) {
			return e, true
		}
	}
	return Edge{}, false
}

// Allowed reports whether action (with any result) may be taken from a state.
func Allowed(from, pausedFrom State, action string) bool {
	for _, e := range Machine {
		if e.From == from && e.Action == action && (e.PausedFrom == "" || e.PausedFrom == pausedFrom) {
			return true
		}
	}
	return false
}

// ActionsFrom lists the actions (API actions only, not document events)
// allowed from a state, in table order without repeats.
func ActionsFrom(from, pausedFrom State) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range Machine {
		if e.From == from && (e.PausedFrom == "" || e.PausedFrom == pausedFrom) && !seen[e.Action] && !isEvent(e.Action) {
			seen[e.Action] = true
			out = append(out, e.Action)
		}
	}
	return out
}

// isEvent reports whether a Machine action is a document event rather than
// an API action.
func isEvent(action string) bool {
	return action == EventAgreement || action == EventHandedOver || action == EventPosted
}

// Resolve returns the state an edge leads to for a case in from, paused
// from pausedFrom.
func (e Edge) Resolve(from, pausedFrom State) State {
	switch e.To {
	case Same:
		return from
	case Resume:
		return pausedFrom
	}
	return e.To
}
