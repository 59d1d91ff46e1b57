package cases

import "github.com/daiban/daiban/cases/catalog"

// The enumerations of the contract that more than one place reads: the
// state machine, the service, the pages and the documents. Each value
// carries its Chinese label here and nowhere else.

// Channel is how a case came in.
type Channel string

// The channels of the contract.
const (
	Counter Channel = "counter"
	Village Channel = "village"
	Hotline Channel = "hotline"
	Online  Channel = "online"
)

// Channels lists every channel.
var Channels = []Channel{Counter, Village, Hotline, Online}

var channelNames = map[Channel]string{Counter: "窗口接待", Village: "村代办员", Hotline: "热线电话", Online: "网上申请"}

// Name is the channel's Chinese label.
func (c Channel) Name() string { return channelNames[c] }

// Result is what an action's edge depends on: a review's finding or a
// higher authority's reply.
type Result string

// Review results and reply outcomes.
const (
	Accept     Result = "accept"
	Supplement Result = "supplement"
	Decline    Result = "decline"
	Approved   Result = "approved"
	Returned   Result = "returned"
	Refused    Result = "refused"
)

// ReviewResults and ReplyOutcomes are the results the review and the
// reply take, in the order their forms show them.
var (
	ReviewResults = []Result{Accept, Supplement, Decline}
	ReplyOutcomes = []Result{Approved, Returned, Refused}
)

// resultLabels are the labels of the forms' choices; replyNames what the
// applicant's tracking page says of a reply.
var (
	resultLabels = map[Result]string{
		Accept: "材料齐全，受理", Supplement: "需补正", Decline: "不予受理",
		Approved: "批准", Returned: "退回补正", Refused: "不予批准",
	}
	replyNames = map[Result]string{Approved: "上级已批准", Returned: "上级退回补正", Refused: "上级不予批准"}
)

// Name is the result's Chinese label.
func (r Result) Name() string { return resultLabels[r] }

// EscalationLevels are the levels a matter can be forwarded to (转报上级):
// every approval level above the county.
var EscalationLevels = []catalog.Level{catalog.City, catalog.Province, catalog.National}

// ResultKind is the kind of a handover item.
type ResultKind string

// The kinds of handover items.
const (
	Licence      ResultKind = "licence"
	ApprovalDoc  ResultKind = "approval"
	MaterialKind ResultKind = "material"
	OtherKind    ResultKind = "other"
)

// ResultKinds lists every kind; FormResultKinds those an agent enters
// (returned materials are listed by the service itself).
var (
	ResultKinds     = []ResultKind{Licence, ApprovalDoc, MaterialKind, OtherKind}
	FormResultKinds = []ResultKind{Licence, ApprovalDoc, OtherKind}
)

var resultKindNames = map[ResultKind]string{Licence: "证照", ApprovalDoc: "批文", MaterialKind: "退还材料", OtherKind: "其他"}

// Name is the kind's Chinese label.
func (k ResultKind) Name() string { return resultKindNames[k] }

// Party is who ends a case early (终止).
type Party string

// The parties that may end a case.
const (
	ByApplicant Party = "applicant"
	ByCenter    Party = "center"
)

// Parties lists both, in the order the form shows them.
var Parties = []Party{ByApplicant, ByCenter}

var partyNames = map[Party]string{ByApplicant: "申请人撤回", ByCenter: "中心终止"}

// Name is the party's Chinese label.
func (p Party) Name() string { return partyNames[p] }

// Outcome is how a case ended.
type Outcome string

// The outcomes of the contract.
const (
	OutcomeGuided      Outcome = "guided"
	OutcomeAccompanied Outcome = "accompanied"
	OutcomeHandedOver  Outcome = "handed_over"
	OutcomePosted      Outcome = "posted"
	OutcomeDeclined    Outcome = "declined"
	OutcomeTerminated  Outcome = "terminated"
)

var outcomeNames = map[Outcome]string{
	OutcomeGuided: "即办指导办结", OutcomeAccompanied: "领办办结", OutcomeHandedOver: "已交付签收", OutcomePosted: "已邮寄送达",
	OutcomeDeclined: "不予受理", OutcomeTerminated: "已终止",
}

// Name is the outcome's Chinese label.
func (o Outcome) Name() string { return outcomeNames[o] }

// Mode is how the center serves a case: guided on the spot (即办),
// accompanied (领办) or delegated (代办).
type Mode string

// The service modes.
const (
	ModeGuide     Mode = "guide"
	ModeAccompany Mode = "accompany"
	ModeDelegate  Mode = "delegate"
)
