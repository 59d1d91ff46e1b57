package cases

import (
	"encoding/json"
	"net/url"
	"reflect"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/policies/httpapi"
)

// Action describes one action of the state machine, once. The API, the
// pages and the tests all read it: its name (also the permission that
// policies/policy.csv grants roles), its label, its body (decoding,
// validation and what it writes, in the body type's methods), the form
// the case page shows for it, and the choices that form offers. The
// states it may be taken from are the edges of Machine.
//
// Adding an action is one entry in actionTable, its body type with its
// prepare and fill methods, and its edges in Machine.
type Action struct {
	Name  string
	Label string
	// Form names the case page's template for the action's form; Fields
	// are the form fields the page shows messages next to ("name." stands
	// for every field of that name with a suffix); a message about any
	// other field goes to the top of the form.
	Form   string
	Fields []string
	// Choices are the options of the form's radio buttons and selects,
	// by field name, in the order shown.
	Choices map[string][]Choice
	// Confirm, when set, is asked before the form is sent.
	Confirm string
	new     func() body
	// bodyType is the type new returns, for checking a body handed in.
	bodyType reflect.Type
}

// Choice is one option of a form field.
type Choice struct {
	Value string
	Label string
}

// body is an action's request body: decoded strictly from the API's JSON
// or filled from the case page's form, then checked against the case.
type body interface {
	// prepare validates the body against the case and records what the
	// action changes besides the state.
	prepare(s *Service, st *step) error
	// fill reads the action's form; fieldOf maps the service's field
	// names back to the form's.
	fill(v url.Values) (fieldOf func(string) string, err error)
}

var noteFields = []string{"note"}

// actionTable is every API action, in the contract's order.
var actionTable = []Action{
	{Name: ActGuide, Label: "即办指导", Form: "act-note", Fields: noteFields, new: func() body { return &noteBody{mode: ModeGuide} }},
	{Name: ActAccompany, Label: "领办", Form: "act-note", Fields: noteFields, new: func() body { return &noteBody{mode: ModeAccompany} }},
	{Name: ActComplete, Label: "领办完成", Form: "act-note", Fields: noteFields, new: func() body { return &noteBody{} }},
	{Name: ActReview, Label: "材料初审", Form: "act-review", Fields: []string{"note", "result", "materials", "received.", "original.", "pages."},
		Choices: map[string][]Choice{"result": ChoicesOf(ReviewResults, Result.Name)}, new: func() body { return &reviewBody{} }},
	{Name: ActSupply, Label: "补齐材料", Form: "act-review", Fields: []string{"note", "materials", "received.", "original.", "pages."},
		new: func() body { return &supplyBody{} }},
	{Name: ActAssign, Label: "指定专人", Form: "act-assign", Fields: []string{"agent", "note"}, new: func() body { return &assignBody{} }},
	{Name: ActProgress, Label: "办理进展", Form: "act-progress", Fields: []string{"note", "step", "matter", "matter_status"},
		Choices: map[string][]Choice{"matter_status": ChoicesOf(MatterStatuses, MatterStatus.Name)}, new: func() body { return &progressBody{} }},
	{Name: ActEscalate, Label: "转报上级", Form: "act-escalate", Fields: []string{"level", "authority", "tracker", "reply_due", "note"},
		Choices: map[string][]Choice{"level": ChoicesOf(EscalationLevels, catalog.Level.Name)}, new: func() body { return &escalateBody{} }},
	{Name: ActReply, Label: "上级回复", Form: "act-reply", Fields: []string{"outcome", "note"},
		Choices: map[string][]Choice{"outcome": ChoicesOf(ReplyOutcomes, Result.Name)}, new: func() body { return &replyBody{} }},
	{Name: ActSuspend, Label: "中止", Form: "act-reason", Fields: []string{"reason"}, new: func() body { return &reasonBody{} }},
	{Name: ActResume, Label: "续办", Form: "act-reason", Fields: []string{"reason"}, new: func() body { return &reasonBody{} }},
	{Name: ActResults, Label: "办理结果", Form: "act-results", Fields: []string{"items", "kind.", "name.", "number.", "note", "delivery"},
		Choices: map[string][]Choice{"kind": ChoicesOf(FormResultKinds, ResultKind.Name), "delivery": ChoicesOf(Deliveries, Delivery.Name)},
		new:     func() body { return &resultsBody{} }},
	{Name: ActTerminate, Label: "终止", Form: "act-terminate", Fields: []string{"reason", "by"}, Confirm: "确定终止本案件吗？终止后不能恢复。",
		Choices: map[string][]Choice{"by": ChoicesOf(Parties, Party.Name)}, new: func() body { return &terminateBody{} }},
	{Name: ActEvaluate, Label: "评价", Form: "act-evaluate", Fields: []string{"rating", "comment"}, new: func() body { return &evaluateBody{} }},
	{Name: ActSupervise, Label: "督办", Form: "act-note", Fields: noteFields, new: func() body { return &noteBody{required: true} }},
}

// ChoicesOf lists typed values with their labels as form choices.
func ChoicesOf[T ~string](vs []T, name func(T) string) []Choice {
	out := make([]Choice, len(vs))
	for i, v := range vs {
		out[i] = Choice{Value: string(v), Label: name(v)}
	}
	return out
}

var actionIndex = func() map[string]*Action {
	m := make(map[string]*Action, len(actionTable))
	for i := range actionTable {
		a := &actionTable[i]
		a.bodyType = reflect.TypeOf(a.new())
		m[a.Name] = a
	}
	return m
}()

// Actions lists the API actions (the contract's table), in its order.
var Actions = func() []string {
	out := make([]string, len(actionTable))
	for i, a := range actionTable {
		out[i] = a.Name
	}
	return out
}()

// ActionNames are the Chinese labels of the actions and of the two
// document events that change state.
var ActionNames = func() map[string]string {
	m := map[string]string{EventAgreement: "签订委托协议", EventHandedOver: "交付签收", EventPosted: "邮寄送达确认"}
	for _, a := range actionTable {
		m[a.Name] = a.Label
	}
	return m
}()

// ActionSpec returns the description of an API action.
func ActionSpec(name string) (Action, bool) {
	a, ok := actionIndex[name]
	if !ok {
		return Action{}, false
	}
	return *a, true
}

func unknownAction(name string) error {
	return daiban.Invalid("action", "未知操作 %q", name)
}

// ParseBody decodes an action's JSON body strictly: unknown fields, wrong
// types and trailing data are errors naming the field.
func ParseBody(action string, raw []byte) (any, error) {
	a, ok := actionIndex[action]
	if !ok {
		return nil, unknownAction(action)
	}
	b := a.new()
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := httpapi.DecodeJSON(raw, b); err != nil {
		return nil, err
	}
	return b, nil
}

// FormBody turns an action's form into the action's JSON body, which
// ParseBody then decodes as it does the API's, and returns how the
// service's field names map back to the form's fields (of which the page
// shows messages next to the action's Fields).
func FormBody(action string, v url.Values) ([]byte, func(string) string, error) {
	a, ok := actionIndex[action]
	if !ok {
		return nil, same, unknownAction(action)
	}
	b := a.new()
	fieldOf, err := b.fill(v)
	if err != nil {
		return nil, fieldOf, err
	}
	raw, err := json.Marshal(b)
	return raw, fieldOf, err
}

// bodyOf checks that body is the body type of the action.
func bodyOf(action string, b any) (body, error) {
	a, ok := actionIndex[action]
	if !ok {
		return nil, unknownAction(action)
	}
	bb, ok := b.(body)
	if !ok || reflect.TypeOf(bb) != a.bodyType {
		return nil, daiban.Invalid("action", "操作「%s」的请求内容无效", a.Label)
	}
	return bb, nil
}

func same(f string) string { return f }
