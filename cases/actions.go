package cases

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies/httpapi"
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
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Number string `json:"number"`
}

// Bodies of the actions, decoded strictly: an unknown field is an error.
type (
	noteBody struct {
		Note string `json:"note"`
	}
	reviewBody struct {
		Result    string           `json:"result"`
		Materials []MaterialReview `json:"materials"`
		Note      string           `json:"note"`
	}
	supplyBody struct {
		Materials []MaterialReview `json:"materials"`
		Note      string           `json:"note"`
	}
	assignBody struct {
		Agent string `json:"agent"`
		Note  string `json:"note"`
	}
	progressBody struct {
		Note            string `json:"note"`
		Step            string `json:"step"`
		NotifyApplicant bool   `json:"notify_applicant"`
	}
	escalateBody struct {
		Level     string `json:"level"`
		Authority string `json:"authority"`
		Tracker   string `json:"tracker"`
		ReplyDue  string `json:"reply_due"`
		Note      string `json:"note"`
	}
	replyBody struct {
		Outcome string `json:"outcome"`
		Note    string `json:"note"`
	}
	reasonBody struct {
		Reason string `json:"reason"`
	}
	resultsBody struct {
		Items []ResultItem `json:"items"`
		Note  string       `json:"note"`
	}
	terminateBody struct {
		Reason string `json:"reason"`
		By     string `json:"by"`
	}
	evaluateBody struct {
		Rating  int    `json:"rating"`
		Comment string `json:"comment"`
	}
)

// bodyFor returns a pointer to the body type of an action.
func bodyFor(action string) (any, bool) {
	switch action {
	case ActGuide, ActAccompany, ActComplete, ActSupervise:
		return &noteBody{}, true
	case ActReview:
		return &reviewBody{}, true
	case ActSupply:
		return &supplyBody{}, true
	case ActAssign:
		return &assignBody{}, true
	case ActProgress:
		return &progressBody{}, true
	case ActEscalate:
		return &escalateBody{}, true
	case ActReply:
		return &replyBody{}, true
	case ActSuspend, ActResume:
		return &reasonBody{}, true
	case ActResults:
		return &resultsBody{}, true
	case ActTerminate:
		return &terminateBody{}, true
	case ActEvaluate:
		return &evaluateBody{}, true
	}
	return nil, false
}

// Actions lists the API actions (the contract's table).
var Actions = []string{ActGuide, ActAccompany, ActComplete, ActReview, ActSupply, ActAssign, ActProgress, ActEscalate, ActReply, ActSuspend, ActResume, ActResults, ActTerminate, ActEvaluate, ActSupervise}

// ParseBody decodes an action's JSON body strictly: unknown fields, wrong
// types and trailing data are errors naming the field.
func ParseBody(action string, raw []byte) (any, error) {
	b, ok := bodyFor(action)
	if !ok {
		return nil, daiban.Invalid("action", "未知操作 %q", action)
	}
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := httpapi.DecodeJSON(raw, b); err != nil {
		return nil, err
	}
	return b, nil
}

var (
	errMissingVersion = daiban.Errorf(daiban.EPRECONDITIONREQUIRED, "缺少 If-Match 请求头（案件版本号）")
	errVersion        = daiban.Errorf(daiban.EVERSIONCONFLICT, "案件已被他人更新，请刷新后重试")
)

// Act performs one action on a case in its own transaction and returns the
// case as it now is (without details). It costs three round trips: the
// case is read without a lock, the action is validated, then the
// transaction's writes go in one batch guarded by the case version (a
// concurrent change makes the update miss and the whole batch roll back as
// version_conflict), then COMMIT.
func (s *Service) Act(ctx context.Context, a Actor, id int64, version int, action string, body any) (Case, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Case{}, err
	}
	defer conn.Release()
	return s.apply(ctx, conn.Conn(), true, a, id, version, action, body)
}

// ActTx performs one action inside the caller's transaction tx.
func (s *Service) ActTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, version int, action string, body any) (Case, error) {
	return s.apply(ctx, tx, false, a, id, version, action, body)
}

// change is what an action does to the case row and beyond.
type change struct {
	row    dbsqlc.CaseUpdateParams
	result string
	ledger map[string]any
	after  []func(tx dbsqlc.DBTX) error
}

// apply checks the version and the state machine, applies the change and
// appends the ledger entry. With begin, db is a bare connection and apply
// opens and ends the transaction itself, inside the write batch.
func (s *Service) apply(ctx context.Context, db batcher, begin bool, a Actor, id int64, version int, action string, body any) (Case, error) {
	if version <= 0 {
		return Case{}, errMissingVersion
	}
	row, err := s.q.CaseGet(ctx, db, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	if int(row.Version) != version {
		return Case{}, errVersion
	}
	cur := fromRow(row)
	if !Allowed(cur.State, cur.PausedFrom, action) {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件处于「%s」状态，不能执行「%s」", StateNames[cur.State], ActionNames[action])
	}
	now := s.Now()
	ch := change{row: updateFrom(row, now), ledger: map[string]any{}}
	if err := s.prepare(ctx, db, a, cur, action, body, now, &ch); err != nil {
		return Case{}, err
	}
	edge, ok := Next(cur.State, cur.PausedFrom, action, ch.result)
	if !ok {
		return Case{}, daiban.Invalid("result", "结果 %q 不适用于当前状态", ch.result)
	}
	to := edge.Resolve(cur.State, cur.PausedFrom)
	s.applyEdge(&ch, cur, to, edge, now)
	if err := s.clock(ctx, db, a, cur, to, action, now, &ch); err != nil {
		return Case{}, err
	}
	ch.ledger["number"] = cur.Number
	ch.ledger["action"] = action
	ch.ledger["from"] = cur.State
	ch.ledger["to"] = to
	ch.ledger["version"] = version + 1
	if ch.result != "" {
		ch.ledger["result"] = ch.result
	}
	typ := "case." + action
	var entry []byte
	if s.encode != nil {
		if entry, err = s.encode(a.Username, id, cur.Region, typ, ch.ledger); err != nil {
			return Case{}, err
		}
	}
	err = s.write(ctx, db, begin, func(w *pipe) error {
		if entry != nil {
			r := ch.row
			err := s.q.CaseUpdateRecorded(ctx, w, dbsqlc.CaseUpdateRecordedParams{
				State: r.State, PausedFrom: r.PausedFrom, Outcome: r.Outcome, Mode: r.Mode, Assignee: r.Assignee,
				ClosedAt: r.ClosedAt, DelegatedAt: r.DelegatedAt, DueDate: r.DueDate, Rating: r.Rating,
				RatingComment: r.RatingComment, RatedAt: r.RatedAt, Now: r.Now, ID: r.ID, ExpectedVersion: r.ExpectedVersion,
				Actor: a.Username, Region: cur.Region, Type: typ, Payload: entry,
			})
			if err != nil {
				return err
			}
		} else if err := s.q.CaseUpdate(ctx, w, ch.row); err != nil {
			return err
		}
		for _, f := range ch.after {
			if err := f(w); err != nil {
				return err
			}
		}
		if entry != nil {
			return nil
		}
		return s.record(ctx, w, a.Username, id, cur.Region, typ, ch.ledger)
	})
	if err != nil {
		return Case{}, err
	}
	next := cur
	next.State, next.Version, next.UpdatedAt = to, version+1, now
	next.PausedFrom = State(deref(ch.row.PausedFrom))
	next.Outcome = deref(ch.row.Outcome)
	next.Assignee = deref(ch.row.Assignee)
	if ch.row.DueDate != nil {
		next.DueDate = ch.row.DueDate.Format("2006-01-02")
	}
	return next, nil
}

// write pipelines the writes fn issues and, with begin, wraps them in a
// transaction of their own that travels in the same batch: BEGIN, the
// writes, COMMIT. The version-guarded case update makes the batch fail as a
// whole when the case changed meanwhile; the connection then gets a
// ROLLBACK.
func (s *Service) write(ctx context.Context, db batcher, begin bool, fn func(w *pipe) error) error {
	w := newPipe(db)
	if begin {
		w.b.Queue("BEGIN")
	}
	err := fn(w)
	if err == nil && begin {
		w.b.Queue("COMMIT")
	}
	if err == nil {
		err = w.flush(ctx)
	}
	if err != nil && begin {
		// A failed ROLLBACK leaves the connection in a transaction; the
		// pool then discards it rather than reuse it.
		_, _ = db.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

// applyEdge sets the state, the paused-from state, the outcome and closing
// time that follow from the edge taken.
func (s *Service) applyEdge(ch *change, cur Case, to State, e Edge, now time.Time) {
	ch.row.State = string(to)
	switch {
	case to == cur.State:
		// Staying (assign, supervise, a further supplement request) keeps
		// the state the case was paused from.
	case to == AwaitingMaterials || to == Suspended:
		p := string(cur.State)
		ch.row.PausedFrom = &p
	case cur.State == AwaitingMaterials || cur.State == Suspended:
		ch.row.PausedFrom = nil
	}
	if e.Outcome != "" {
		o := e.Outcome
		ch.row.Outcome = &o
	}
	if !to.Open() && cur.State.Open() {
		ch.row.ClosedAt = &now
	}
}

func updateFrom(r dbsqlc.Case, now time.Time) dbsqlc.CaseUpdateParams {
	return dbsqlc.CaseUpdateParams{
		ID: r.ID, ExpectedVersion: r.Version, State: r.State, PausedFrom: r.PausedFrom, Outcome: r.Outcome, Mode: r.Mode,
		Assignee: r.Assignee, ClosedAt: r.ClosedAt, DelegatedAt: r.DelegatedAt, DueDate: r.DueDate,
		Rating: r.Rating, RatingComment: r.RatingComment, RatedAt: r.RatedAt, Now: now,
	}
}

// prepare validates the body of an action against the case and records
// what the action changes besides the state.
func (s *Service) prepare(ctx context.Context, tx dbsqlc.DBTX, a Actor, c Case, action string, body any, now time.Time, ch *change) error {
	// Notes live in the ledger entry itself: the case's timeline and the
	// applicant's tracking page are read from the ledger. public_note is
	// the text the applicant sees.
	public := func(text string) {
		if text != "" {
			ch.ledger["public_note"] = text
		}
	}
	switch b := body.(type) {
	case *noteBody:
		required := action == ActSupervise
		t, err := text("note", b.Note, 2000, required)
		if err != nil {
			return err
		}
		switch action {
		case ActGuide:
			ch.row.Mode = ptr("guide")
		case ActAccompany:
			ch.row.Mode = ptr("accompany")
		}
		ch.ledger["note"] = t
	case *reviewBody:
		if b.Result != "accept" && b.Result != "supplement" && b.Result != "decline" {
			return daiban.Invalid("result", "初审结果应为 accept（受理）、supplement（补正）或 decline（不予受理）")
		}
		ch.result = b.Result
		t, err := text("note", b.Note, 2000, b.Result != "accept")
		if err != nil {
			return err
		}
		mats, err := s.reviewMaterials(ctx, tx, c.ID, b.Materials, ch)
		if err != nil {
			return err
		}
		var missing []string
		for _, m := range mats {
			if !m.Received || (m.RequiredOriginal && !m.Original) {
				missing = append(missing, m.Name)
			}
		}
		if b.Result == "accept" {
			if len(missing) > 0 {
				return daiban.Invalid("materials", "材料不齐，不能受理：%s。请选择补正（supplement）", strings.Join(missing, "、"))
			}
			ch.row.Mode = ptr("delegate")
		}
		if b.Result == "supplement" {
			if len(missing) == 0 {
				return daiban.Invalid("materials", "材料已齐全，无需补正")
			}
			ch.ledger["missing"] = missing
			public(t + "（需补正：" + strings.Join(missing, "、") + "）")
		} else if b.Result == "decline" {
			public("不予受理：" + t)
		}
		ch.ledger["note"] = t
	case *supplyBody:
		t, err := text("note", b.Note, 2000, false)
		if err != nil {
			return err
		}
		if len(b.Materials) == 0 {
			return daiban.Invalid("materials", "请列出补齐的材料")
		}
		if _, err := s.reviewMaterials(ctx, tx, c.ID, b.Materials, ch); err != nil {
			return err
		}
		ch.ledger["note"] = t
	case *assignBody:
		t, err := text("note", b.Note, 2000, false)
		if err != nil {
			return err
		}
		if err := s.checkAgent(ctx, tx, "agent", b.Agent, c.Region); err != nil {
			return err
		}
		ch.row.Assignee = ptr(b.Agent)
		ch.ledger["agent"] = b.Agent
		ch.ledger["note"] = t
	case *progressBody:
		t, err := text("note", b.Note, 2000, true)
		if err != nil {
			return err
		}
		step, err := text("step", b.Step, 100, false)
		if err != nil {
			return err
		}
		if b.NotifyApplicant {
			public(t)
		}
		ch.ledger["note"], ch.ledger["step"], ch.ledger["notify_applicant"] = t, step, b.NotifyApplicant
	case *escalateBody:
		if b.Level != "city" && b.Level != "province" && b.Level != "national" {
			return daiban.Invalid("level", "转报层级应为 city（市级）、province（省级）或 national（国家级）")
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
			return daiban.Invalid("reply_due", "回复期限应为 YYYY-MM-DD 格式的日期")
		}
		if due.Before(calendar.Date(now)) {
			return daiban.Invalid("reply_due", "回复期限不能早于今天")
		}
		if err := s.checkAgent(ctx, tx, "tracker", b.Tracker, c.Region); err != nil {
			return err
		}
		ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
			return s.q.EscalationInsert(ctx, tx, dbsqlc.EscalationInsertParams{CaseID: c.ID, Level: b.Level, Authority: auth, Tracker: b.Tracker, ReplyDue: due, Note: t, CreatedBy: a.Username, CreatedAt: now})
		})
		ch.ledger["level"], ch.ledger["authority"], ch.ledger["tracker"], ch.ledger["reply_due"], ch.ledger["note"] = b.Level, auth, b.Tracker, b.ReplyDue, t
	case *replyBody:
		if b.Outcome != "approved" && b.Outcome != "returned" && b.Outcome != "refused" {
			return daiban.Invalid("outcome", "上级回复结果应为 approved（批准）、returned（退回补正）或 refused（不予批准）")
		}
		ch.result = b.Outcome
		t, err := text("note", b.Note, 2000, b.Outcome != "approved")
		if err != nil {
			return err
		}
		ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
			_, err := s.q.EscalationReply(ctx, tx, dbsqlc.EscalationReplyParams{CaseID: c.ID, RepliedAt: &now, Outcome: &b.Outcome, ReplyNote: &t})
			return err
		})
		public(replyNames[b.Outcome] + "：" + t)
		ch.ledger["outcome"], ch.ledger["note"] = b.Outcome, t
	case *reasonBody:
		t, err := text("reason", b.Reason, 2000, true)
		if err != nil {
			return err
		}
		public(ActionNames[action] + "：" + t)
		ch.ledger["reason"] = t
	case *resultsBody:
		if len(b.Items) == 0 {
			return daiban.Invalid("items", "请至少列出一项办理结果")
		}
		if len(b.Items) > 50 {
			return daiban.Invalid("items", "办理结果最多 50 项")
		}
		var logged []map[string]string
		for i, it := range b.Items {
			f := fmt.Sprintf("items[%d]", i)
			if it.Kind != "licence" && it.Kind != "approval" && it.Kind != "material" && it.Kind != "other" {
				return daiban.Invalid(f+".kind", "结果类型应为 licence、approval、material 或 other")
			}
			name, err := text(f+".name", it.Name, 200, true)
			if err != nil {
				return err
			}
			num, err := text(f+".number", it.Number, 100, false)
			if err != nil {
				return err
			}
			kind := it.Kind
			ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
				return s.q.HandoverItemInsert(ctx, tx, dbsqlc.HandoverItemInsertParams{CaseID: c.ID, Kind: kind, Name: name, Number: num})
			})
			logged = append(logged, map[string]string{"kind": kind, "name": name, "number": num})
		}
		// Every original the center still holds goes back to the applicant.
		mats, err := s.q.CaseMaterials(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		for _, m := range mats {
			if m.Holder == "applicant" || !m.Received || !m.Original {
				continue
			}
			code, name := m.Code, m.Name+"（原件）"
			ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
				return s.q.HandoverItemInsert(ctx, tx, dbsqlc.HandoverItemInsertParams{CaseID: c.ID, Kind: "material", Name: name, MaterialCode: &code})
			})
			logged = append(logged, map[string]string{"kind": "material", "name": name, "material": code})
		}
		t, err := text("note", b.Note, 2000, false)
		if err != nil {
			return err
		}
		public("办理结果已出具，请按通知到窗口签收")
		ch.ledger["items"], ch.ledger["note"] = logged, t
	case *terminateBody:
		t, err := text("reason", b.Reason, 2000, true)
		if err != nil {
			return err
		}
		if b.By != "applicant" && b.By != "center" {
			return daiban.Invalid("by", "终止方应为 applicant（申请人）或 center（中心）")
		}
		public("已终止：" + t)
		ch.ledger["reason"], ch.ledger["by"] = t, b.By
	case *evaluateBody:
		return s.prepareRating(ctx, c, b.Rating, b.Comment, now, ch)
	default:
		return daiban.Invalid("action", "未知操作 %q", action)
	}
	return nil
}

var replyNames = map[string]string{"approved": "上级已批准", "returned": "上级退回补正", "refused": "上级不予批准"}

// prepareRating records the applicant's one rating of a closed case; a
// rating of 2 or less opens a 差评 rectification due in 15 working days.
func (s *Service) prepareRating(ctx context.Context, c Case, rating int, comment string, now time.Time, ch *change) error {
	if rating < 1 || rating > 5 {
		return daiban.Invalid("rating", "评价等级应为 1（非常不满意）至 5（非常满意）")
	}
	t, err := text("comment", comment, 1000, rating <= 2)
	if err != nil {
		return err
	}
	if c.State != Closed {
		return daiban.Errorf(daiban.EINVALIDTRANSITION, "案件办结后才能评价")
	}
	if c.Rating != 0 {
		return daiban.Errorf(daiban.EINVALIDTRANSITION, "该案件已评价，每件只能评价一次")
	}
	r := int32(rating)
	ch.row.Rating, ch.row.RatingComment, ch.row.RatedAt = &r, &t, &now
	ch.ledger["rating"], ch.ledger["comment"] = rating, t
	if rating <= 2 {
		due := s.cal().AddWorkdays(now, RectificationWorkdays)
		ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
			return s.q.RectificationInsert(ctx, tx, dbsqlc.RectificationInsertParams{CaseID: c.ID, Rating: r, Comment: t, DueDate: due, OpenedAt: now})
		})
		ch.ledger["rectification_due"] = due.Format("2006-01-02")
	}
	return nil
}

// reviewMaterials applies the findings to the case's materials (unknown
// codes are an error) and returns all materials as they will be.
func (s *Service) reviewMaterials(ctx context.Context, tx dbsqlc.DBTX, caseID int64, in []MaterialReview, ch *change) ([]dbsqlc.CaseMaterial, error) {
	mats, err := s.q.CaseMaterials(ctx, tx, caseID)
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, m := range mats {
		idx[m.Code] = i
	}
	seen := map[string]bool{}
	var logged []map[string]any
	for i, r := range in {
		f := fmt.Sprintf("materials[%d]", i)
		j, ok := idx[r.Code]
		if !ok {
			return nil, daiban.Invalid(f+".code", "本案件不需要材料 %q", r.Code)
		}
		if seen[r.Code] {
			return nil, daiban.Invalid(f+".code", "材料 %s 重复", r.Code)
		}
		seen[r.Code] = true
		if r.Pages < 0 || r.Pages > 10000 {
			return nil, daiban.Invalid(f+".pages", "页数无效")
		}
		if !r.Received && (r.Original || r.Pages > 0) {
			return nil, daiban.Invalid(f+".received", "未收到的材料不能登记原件或页数")
		}
		mats[j].Received, mats[j].Original, mats[j].Pages = r.Received, r.Original, int32(r.Pages)
		p := dbsqlc.CaseMaterialReviewParams{Received: r.Received, Original: r.Original, Pages: int32(r.Pages), CaseID: caseID, Code: r.Code}
		ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
			_, err := s.q.CaseMaterialReview(ctx, tx, p)
			return err
		})
		logged = append(logged, map[string]any{"code": r.Code, "received": r.Received, "original": r.Original, "pages": r.Pages})
	}
	ch.ledger["materials"] = logged
	return mats, nil
}

// checkAgent checks that username names an enabled agent who may work on
// cases in region.
func (s *Service) checkAgent(ctx context.Context, tx dbsqlc.DBTX, field, username, region string) error {
	if username == "" {
		return daiban.Invalid(field, "请指定代办员用户名")
	}
	u, err := s.q.UserRole(ctx, tx, username)
	if err != nil {
		return invalidIfMissing(err, field, "用户 %q 不存在或已停用", username)
	}
	agent := u.Role == "county_agent" || u.Role == "township_agent" || u.Role == "village_agent"
	if !agent || !strings.HasPrefix(region, u.Region) {
		return daiban.Invalid(field, "用户 %s 不是负责该地区的代办员", username)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
