package cases

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// MaterialReview is one material's finding in a review or supply.
type MaterialReview struct {
	Code     string `json:"code"`
	Received bool   `json:"received"`
	Original bool   `json:"original"`
	Pages    int    `json:"pages"`
}

// ResultItem is a result to hand over (licence, approval, …).
type ResultItem struct {
	Kind   ResultKind `json:"kind"`
	Name   string     `json:"name"`
	Number string     `json:"number"`
}

// step is one action being prepared: the case as it is, who acts and
// when, and the change being built.
type step struct {
	ctx   context.Context
	db    dbsqlc.DBTX
	actor Actor
	c     Case
	spec  *Action
	now   time.Time
	ch    *change
}

// public sets the text the applicant's tracking page shows for the entry.
// Notes live in the ledger entry itself: the case's timeline and the
// tracking page are read from the ledger.
func (st *step) public(text string) {
	if text != "" {
		st.ch.ledger["public_note"] = text
	}
}

// then adds a write that goes in the action's batch after the case update.
func (st *step) then(f func(tx dbsqlc.DBTX) error) { st.ch.after = append(st.ch.after, f) }

// noteBody: guide, accompany, complete, supervise.
type noteBody struct {
	Note     string `json:"note"`
	mode     Mode
	required bool
}

func (b *noteBody) prepare(_ *Service, st *step) error {
	t, err := text("note", b.Note, 2000, b.required)
	if err != nil {
		return err
	}
	if b.mode != "" {
		st.ch.row.Mode = ptr(string(b.mode))
	}
	st.ch.ledger["note"] = t
	return nil
}

func (b *noteBody) fill(v url.Values) (func(string) string, error) {
	b.Note = v.Get("note")
	return same, nil
}

// reviewBody: the material review at intake (初审).
type reviewBody struct {
	Result    Result           `json:"result"`
	Materials []MaterialReview `json:"materials"`
	Note      string           `json:"note"`
}

func (b *reviewBody) prepare(s *Service, st *step) error {
	if !slices.Contains(ReviewResults, b.Result) {
		return daiban.Invalid("result", "请选择初审结果：「材料齐全，受理」「需补正」或「不予受理」")
	}
	st.ch.result = b.Result
	if b.Result == Accept && len(st.c.Matters) == 0 {
		// A 12345 order naming no matter: nothing to delegate yet.
		return daiban.Invalid("result", "该案件来自 12345 热线，尚未确定办理事项，不能受理委托：请指导或领办，或请申请人到窗口按事项登记")
	}
	t, err := text("note", b.Note, 2000, b.Result != Accept)
	if err != nil {
		return err
	}
	mats, err := s.reviewMaterials(st, b.Materials)
	if err != nil {
		return err
	}
	var missing []string
	for _, m := range mats {
		if !m.Received || (m.RequiredOriginal && !m.Original) {
			missing = append(missing, m.Name)
		}
	}
	switch b.Result {
	case Accept:
		if len(missing) > 0 {
			return daiban.Invalid("materials", "材料不齐，不能受理：%s。请选择「需补正」", strings.Join(missing, "、"))
		}
		st.ch.row.Mode = ptr(string(ModeDelegate))
	case Supplement:
		if len(missing) == 0 {
			return daiban.Invalid("materials", "材料已齐全，无需补正")
		}
		st.ch.ledger["missing"] = missing
		st.public(t + "（需补正：" + strings.Join(missing, "、") + "）")
	case Decline:
		st.public("不予受理：" + t)
	}
	st.ch.ledger["note"] = t
	return nil
}

func (b *reviewBody) fill(v url.Values) (func(string) string, error) {
	mats, fieldOf, err := materialsForm(v)
	b.Materials, b.Note, b.Result = mats, v.Get("note"), Result(v.Get("result"))
	return fieldOf, err
}

// supplyBody: the missing materials brought in.
type supplyBody struct {
	Materials []MaterialReview `json:"materials"`
	Note      string           `json:"note"`
}

func (b *supplyBody) prepare(s *Service, st *step) error {
	t, err := text("note", b.Note, 2000, false)
	if err != nil {
		return err
	}
	if len(b.Materials) == 0 {
		return daiban.Invalid("materials", "请列出补齐的材料")
	}
	if _, err := s.reviewMaterials(st, b.Materials); err != nil {
		return err
	}
	st.ch.ledger["note"] = t
	return nil
}

func (b *supplyBody) fill(v url.Values) (func(string) string, error) {
	mats, fieldOf, err := materialsForm(v)
	b.Materials, b.Note = mats, v.Get("note")
	return fieldOf, err
}

var indexed = regexp.MustCompile(`^(materials|items)\[(\d+)\]\.(\w+)$`)

// materialsForm reads the review table of the case page: the form lists
// the codes in "material", each row's fields are "received.CODE",
// "original.CODE" and "pages.CODE".
func materialsForm(v url.Values) ([]MaterialReview, func(string) string, error) {
	codes := v["material"]
	var mats []MaterialReview
	for _, code := range codes {
		pages := 0
		if s := strings.TrimSpace(v.Get("pages." + code)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return nil, same, daiban.Invalid("pages."+code, "页数应为正整数，例如 3")
			}
			pages = n
		}
		received := v.Get("received."+code) == "1"
		if !received {
			pages = 0 // a page count typed before unticking "received" is not a claim
		}
		mats = append(mats, MaterialReview{Code: code, Received: received, Original: received && v.Get("original."+code) == "1", Pages: pages})
	}
	return mats, rowField("materials", codes), nil
}

// rowField maps "list[i].field" back to the form's "field.ROW".
func rowField(list string, rows []string) func(string) string {
	return func(f string) string {
		if m := indexed.FindStringSubmatch(f); m != nil && m[1] == list {
			if i, _ := strconv.Atoi(m[2]); i < len(rows) {
				return m[3] + "." + rows[i]
			}
		}
		return f
	}
}

// assignBody: the dedicated handler (专人).
type assignBody struct {
	Agent string `json:"agent"`
	Note  string `json:"note"`
}

func (b *assignBody) prepare(s *Service, st *step) error {
	t, err := text("note", b.Note, 2000, false)
	if err != nil {
		return err
	}
	if err := s.checkAgent(st.ctx, st.db, "agent", b.Agent, st.c.Region); err != nil {
		return err
	}
	st.ch.row.Assignee = ptr(b.Agent)
	st.ch.ledger["agent"] = b.Agent
	st.ch.ledger["note"] = t
	return nil
}

func (b *assignBody) fill(v url.Values) (func(string) string, error) {
	b.Agent, b.Note = v.Get("agent"), v.Get("note")
	return same, nil
}

// progressBody: a step of the processing.
type progressBody struct {
	Note            string `json:"note"`
	Step            string `json:"step"`
	NotifyApplicant bool   `json:"notify_applicant"`
	// Matter and MatterStatus report one matter's progress within a 一件事.
	Matter       string       `json:"matter,omitempty"`
	MatterStatus MatterStatus `json:"matter_status,omitempty"`
}

func (b *progressBody) prepare(_ *Service, st *step) error {
	if err := prepareMatterStatus(st, b.Matter, b.MatterStatus); err != nil {
		return err
	}
	t, err := text("note", b.Note, 2000, true)
	if err != nil {
		return err
	}
	stp, err := text("step", b.Step, 100, false)
	if err != nil {
		return err
	}
	if b.NotifyApplicant {
		st.public(t)
	}
	st.ch.ledger["note"], st.ch.ledger["step"], st.ch.ledger["notify_applicant"] = t, stp, b.NotifyApplicant
	return nil
}

func (b *progressBody) fill(v url.Values) (func(string) string, error) {
	b.Note, b.Step, b.NotifyApplicant = v.Get("note"), v.Get("step"), v.Get("notify_applicant") == "1"
	b.Matter, b.MatterStatus = v.Get("matter"), MatterStatus(v.Get("matter_status"))
	return same, nil
}

// escalateBody: forwarding to a higher authority (转报上级).
type escalateBody struct {
	Level     catalog.Level `json:"level"`
	Authority string        `json:"authority"`
	Tracker   string        `json:"tracker"`
	ReplyDue  string        `json:"reply_due"`
	Note      string        `json:"note"`
}

func (b *escalateBody) prepare(s *Service, st *step) error {
	if !slices.Contains(EscalationLevels, b.Level) {
		return daiban.Invalid("level", "请选择转报层级：市级、省级或国家级")
	}
	auth, err := text("authority", b.Authority, 200, true)
	if err != nil {
		return err
	}
	t, err := text("note", b.Note, 2000, false)
	if err != nil {
		return err
	}
	due, err := time.ParseInLocation("2006-01-02", b.ReplyDue, calendar.Shanghai)
	if err != nil {
		return daiban.Invalid("reply_due", "回复期限应为日期，例如 2027-01-15")
	}
	if due.Before(calendar.Date(st.now)) {
		return daiban.Invalid("reply_due", "回复期限不能早于今天")
	}
	if err := s.checkAgent(st.ctx, st.db, "tracker", b.Tracker, st.c.Region); err != nil {
		return err
	}
	p := dbsqlc.EscalationInsertParams{CaseID: st.c.ID, Level: string(b.Level), Authority: auth, Tracker: b.Tracker,
		ReplyDue: due, Note: t, CreatedBy: st.actor.Username, CreatedAt: st.now}
	st.then(func(tx dbsqlc.DBTX) error { return s.q.EscalationInsert(st.ctx, tx, p) })
	l := st.ch.ledger
	l["level"], l["authority"], l["tracker"], l["reply_due"], l["note"] = b.Level, auth, b.Tracker, b.ReplyDue, t
	return nil
}

func (b *escalateBody) fill(v url.Values) (func(string) string, error) {
	b.Level, b.Authority, b.Tracker = catalog.Level(v.Get("level")), v.Get("authority"), v.Get("tracker")
	b.ReplyDue, b.Note = v.Get("reply_due"), v.Get("note")
	return same, nil
}

// replyBody: the higher authority's answer.
type replyBody struct {
	Outcome Result `json:"outcome"`
	Note    string `json:"note"`
}

func (b *replyBody) prepare(s *Service, st *step) error {
	if !slices.Contains(ReplyOutcomes, b.Outcome) {
		return daiban.Invalid("outcome", "请选择上级回复结果：批准、退回补正或不予批准")
	}
	st.ch.result = b.Outcome
	t, err := text("note", b.Note, 2000, b.Outcome != Approved)
	if err != nil {
		return err
	}
	outcome, now := string(b.Outcome), st.now
	st.then(func(tx dbsqlc.DBTX) error {
		_, err := s.q.EscalationReply(st.ctx, tx, dbsqlc.EscalationReplyParams{CaseID: st.c.ID, RepliedAt: &now, Outcome: &outcome, ReplyNote: &t})
		return err
	})
	st.public(replyNames[b.Outcome]) // the note is the staff's
	st.ch.ledger["outcome"], st.ch.ledger["note"] = b.Outcome, t
	return nil
}

func (b *replyBody) fill(v url.Values) (func(string) string, error) {
	b.Outcome, b.Note = Result(v.Get("outcome")), v.Get("note")
	return same, nil
}

// reasonBody: suspend (中止) and resume (续办).
type reasonBody struct {
	Reason string `json:"reason"`
}

func (b *reasonBody) prepare(_ *Service, st *step) error {
	t, err := text("reason", b.Reason, 2000, true)
	if err != nil {
		return err
	}
	st.public(pauseNotes[st.spec.Name]) // the reason is the staff's
	st.ch.ledger["reason"] = t
	return nil
}

func (b *reasonBody) fill(v url.Values) (func(string) string, error) {
	b.Reason = v.Get("reason")
	return same, nil
}

// resultsBody: the licences and approvals to hand over.
type resultsBody struct {
	Items []ResultItem `json:"items"`
	Note  string       `json:"note"`
	// Delivery is the applicant's choice: in person (default) or by post.
	Delivery Delivery `json:"delivery,omitempty"`
}

func (b *resultsBody) prepare(s *Service, st *step) error {
	if len(b.Items) == 0 {
		return daiban.Invalid("items", "请至少列出一项办理结果")
	}
	if len(b.Items) > 50 {
		return daiban.Invalid("items", "办理结果最多 50 项")
	}
	var logged []map[string]string
	for i, it := range b.Items {
		item, err := resultItem(fmt.Sprintf("items[%d]", i), it)
		if err != nil {
			return err
		}
		st.then(func(tx dbsqlc.DBTX) error {
			return s.q.HandoverItemInsert(st.ctx, tx, dbsqlc.HandoverItemInsertParams{CaseID: st.c.ID, Kind: string(item.Kind), Name: item.Name, Number: item.Number})
		})
		logged = append(logged, map[string]string{"kind": string(item.Kind), "name": item.Name, "number": item.Number})
	}
	returned, err := s.returnOriginals(st)
	if err != nil {
		return err
	}
	t, err := text("note", b.Note, 2000, false)
	if err != nil {
		return err
	}
	st.public("办理结果已出具，请按通知到窗口签收")
	st.ch.ledger["items"], st.ch.ledger["note"] = append(logged, returned...), t
	return s.prepareDelivery(st, b.Delivery)
}

// resultItem checks one result row.
func resultItem(f string, it ResultItem) (ResultItem, error) {
	if !slices.Contains(ResultKinds, it.Kind) {
		return it, daiban.Invalid(f+".kind", "请选择结果类型：证照、批文、退还材料或其他")
	}
	name, err := text(f+".name", it.Name, 200, true)
	if err != nil {
		return it, err
	}
	num, err := text(f+".number", it.Number, 100, false)
	return ResultItem{Kind: it.Kind, Name: name, Number: num}, err
}

// returnOriginals lists every original the center still holds for the
// handover: it goes back to the applicant.
func (s *Service) returnOriginals(st *step) ([]map[string]string, error) {
	mats, err := s.q.CaseMaterials(st.ctx, st.db, st.c.ID)
	if err != nil {
		return nil, err
	}
	var logged []map[string]string
	for _, m := range mats {
		if m.Holder == "applicant" || !m.Received || !m.Original {
			continue
		}
		code, name := m.Code, m.Name+"（原件）"
		st.then(func(tx dbsqlc.DBTX) error {
			return s.q.HandoverItemInsert(st.ctx, tx, dbsqlc.HandoverItemInsertParams{CaseID: st.c.ID, Kind: string(MaterialKind), Name: name, MaterialCode: &code})
		})
		logged = append(logged, map[string]string{"kind": string(MaterialKind), "name": name, "material": code})
	}
	return logged, nil
}

// resultRows is how many result rows the case page's form offers.
const resultRows = 10

func (b *resultsBody) fill(v url.Values) (func(string) string, error) {
	var rows []string
	for i := 0; i < resultRows; i++ {
		n := strconv.Itoa(i)
		name, number := strings.TrimSpace(v.Get("name."+n)), strings.TrimSpace(v.Get("number."+n))
		if name == "" && number == "" {
			continue
		}
		rows = append(rows, n)
		b.Items = append(b.Items, ResultItem{Kind: ResultKind(v.Get("kind." + n)), Name: name, Number: number})
	}
	b.Note, b.Delivery = v.Get("note"), Delivery(v.Get("delivery"))
	return rowField("items", rows), nil
}

// terminateBody: the case ended early (终止).
type terminateBody struct {
	Reason string `json:"reason"`
	By     Party  `json:"by"`
}

func (b *terminateBody) prepare(_ *Service, st *step) error {
	t, err := text("reason", b.Reason, 2000, true)
	if err != nil {
		return err
	}
	if !slices.Contains(Parties, b.By) {
		return daiban.Invalid("by", "请选择由谁终止：申请人或中心")
	}
	st.public("已终止：" + t)
	st.ch.ledger["reason"], st.ch.ledger["by"] = t, b.By
	return nil
}

func (b *terminateBody) fill(v url.Values) (func(string) string, error) {
	b.Reason, b.By = v.Get("reason"), Party(v.Get("by"))
	return same, nil
}

// evaluateBody: the applicant's rating.
type evaluateBody struct {
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

func (b *evaluateBody) prepare(s *Service, st *step) error {
	return s.prepareRating(st, b.Rating, b.Comment)
}

func (b *evaluateBody) fill(v url.Values) (func(string) string, error) {
	r, err := strconv.Atoi(v.Get("rating"))
	if err != nil {
		return same, daiban.Invalid("rating", "请选择评价等级（1 至 5）")
	}
	b.Rating, b.Comment = r, v.Get("comment")
	return same, nil
}
