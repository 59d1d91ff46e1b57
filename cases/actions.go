package cases

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/sql/dbsqlc"
)

var (
	errMissingVersion = daiban.Errorf(daiban.EPRECONDITIONREQUIRED, "缺少案件版本号：请带上页面或上次读取时的版本号后重试")
	errVersion        = daiban.Errorf(daiban.EVERSIONCONFLICT, "案件已被他人更新，请刷新后重试")
)

// Act performs one action on a case in its own transaction and returns the
// case as it now is (without details). It costs three round trips: the
// case is read without a lock, the action is validated, then the
// transaction's writes go in one batch guarded by the case version (a
// concurrent change makes the update miss and the whole batch roll back as
// version_conflict), then COMMIT.
func (s *Service) Act(ctx context.Context, a Actor, id int64, version int, action string, body any) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: %s case %d", action, id)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Case{}, err
	}
	defer conn.Release()
	return s.apply(ctx, conn.Conn(), true, a, id, version, action, body)
}

// ActTx performs one action inside the caller's transaction tx.
func (s *Service) ActTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, version int, action string, body any) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: %s case %d", action, id)
	return s.apply(ctx, tx, false, a, id, version, action, body)
}

// change is what an action does to the case row and beyond.
type change struct {
	row    dbsqlc.CaseUpdateParams
	result Result
	ledger map[string]any
	after  []func(tx dbsqlc.DBTX) error
}

// apply checks the version and the state machine, applies the change and
// appends the ledger entry. With begin, db is a bare connection and apply
// opens and ends the transaction itself, inside the write batch.
func (s *Service) apply(ctx context.Context, db batcher, begin bool, a Actor, id int64, version int, action string, b any) (Case, error) {
	st, err := s.load(ctx, db, a, id, version, action)
	if err != nil {
		return Case{}, err
	}
	bd, err := bodyOf(action, b)
	if err != nil {
		return Case{}, err
	}
	if err := bd.prepare(s, st); err != nil {
		return Case{}, err
	}
	cur, ch, now := st.c, st.ch, st.now
	edge, ok := Next(cur.State, cur.PausedFrom, action, ch.result)
	if !ok {
		return Case{}, daiban.Invalid("result", "所选结果不适用于案件当前的状态，请刷新页面后重新选择")
	}
	to := edge.Resolve(cur.State, cur.PausedFrom)
	s.applyEdge(ch, cur, to, edge, now)
	if err := s.clock(ctx, db, a, cur, to, action, now, ch); err != nil {
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
	if err := s.persist(ctx, db, begin, st, "case."+action); err != nil {
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

// load reads the case without a lock and checks the client's version and
// that the action may be taken from the case's state.
func (s *Service) load(ctx context.Context, db batcher, a Actor, id int64, version int, action string) (*step, error) {
	if version <= 0 {
		return nil, errMissingVersion
	}
	row, err := s.q.CaseGet(ctx, db, id)
	if err != nil {
		return nil, daiban.NoRows(err, "案件不存在")
	}
	if int(row.Version) != version {
		return nil, errVersion
	}
	cur, err := s.caseOf(row)
	if err != nil {
		return nil, err
	}
	if !Allowed(cur.State, cur.PausedFrom, action) {
		return nil, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件处于「%s」状态，不能执行「%s」", StateNames[cur.State], ActionNames[action])
	}
	now := s.Now()
	return &step{ctx: ctx, db: db, actor: a, c: cur, spec: actionIndex[action], now: now,
		ch: &change{row: updateFrom(row, now), ledger: map[string]any{}}}, nil
}

// persist sends the action's writes in one batch: the version-guarded case
// update with its ledger entry, then the action's side rows.
func (s *Service) persist(ctx context.Context, db batcher, begin bool, st *step, typ string) error {
	a, cur, ch := st.actor, st.c, st.ch
	return s.write(ctx, db, begin, func(w *pipe) error {
		var entry []byte
		if s.encode != nil {
			var err error
			if entry, err = s.encode(ctx, w, a.Username, cur.ID, cur.Region, typ, ch.ledger); err != nil {
				return err
			}
		}
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
		return s.record(ctx, w, a.Username, cur.ID, cur.Region, typ, ch.ledger)
	})
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
		o := string(e.Outcome)
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

// prepareRating records the applicant's one rating of a closed case; a
// rating of 2 or less opens a 差评 rectification due in 15 working days.
func (s *Service) prepareRating(st *step, rating int, comment string) error {
	c, now, ch := st.c, st.now, st.ch
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
		st.then(func(tx dbsqlc.DBTX) error {
			return s.q.RectificationInsert(st.ctx, tx, dbsqlc.RectificationInsertParams{CaseID: c.ID, Rating: r, Comment: t, DueDate: due, OpenedAt: now})
		})
		ch.ledger["rectification_due"] = due.Format("2006-01-02")
	}
	return nil
}

// reviewMaterials applies the findings to the case's materials (unknown
// codes are an error) and returns all materials as they will be.
func (s *Service) reviewMaterials(st *step, in []MaterialReview) ([]dbsqlc.CaseMaterial, error) {
	caseID := st.c.ID
	mats, err := s.q.CaseMaterials(st.ctx, st.db, caseID)
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
			return nil, daiban.Invalid(f+".code", "本案件不需要材料“%s”", r.Code)
		}
		if seen[r.Code] {
			return nil, daiban.Invalid(f+".code", "材料 %s 重复", r.Code)
		}
		seen[r.Code] = true
		if r.Pages < 0 || r.Pages > 10000 {
			return nil, daiban.Invalid(f+".pages", "“%s”的页数应在 1 到 10000 之间", mats[j].Name)
		}
		if r.Received && r.Pages < 1 {
			return nil, daiban.Invalid(f+".pages", "请填写“%s”的页数（至少 1 页）", mats[j].Name)
		}
		if !r.Received && (r.Original || r.Pages > 0) {
			return nil, daiban.Invalid(f+".received", "未收到的材料不能登记原件或页数")
		}
		mats[j].Received, mats[j].Original, mats[j].Pages = r.Received, r.Original, int32(r.Pages)
		p := dbsqlc.CaseMaterialReviewParams{Received: r.Received, Original: r.Original, Pages: int32(r.Pages), CaseID: caseID, Code: r.Code}
		st.then(func(tx dbsqlc.DBTX) error {
			_, err := s.q.CaseMaterialReview(st.ctx, tx, p)
			return err
		})
		logged = append(logged, map[string]any{"code": r.Code, "received": r.Received, "original": r.Original, "pages": r.Pages})
	}
	st.ch.ledger["materials"] = logged
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
	if !policies.Role(u.Role).IsAgent() || !policies.RegionContains(u.Region, region) {
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
