package cases

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// SignedAgreementTx moves a case whose delegation agreement both parties
// have signed to delegated and starts its clock: the promised limit counts
// working days from the day after signing. The documents package calls it
// in the transaction that seals the agreement.
func (s *Service) SignedAgreementTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, extra map[string]any) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: agreement signed on case %d", id)
	return s.eventTx(ctx, tx, a, id, EventAgreement, extra, func(c Case, ch *change) error {
		return s.startClock(ctx, tx, c, ch)
	})
}

// HandedOverTx closes a case whose handover receipt the applicant signed:
// every item must have been verified, and every returned original is now
// held by the applicant again.
func (s *Service) HandedOverTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, extra map[string]any) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: handover on case %d", id)
	// A receipt signed for results sent by post confirms the delivery
	// (the applicant signed it on the phone): the case closes as posted.
	if d, err := s.q.DeliveryGet(ctx, tx, id); err == nil && Delivery(d.Method) == ByPost {
		return s.PostedTx(ctx, tx, a, id, "applicant", nil, extra)
	}
	return s.eventTx(ctx, tx, a, id, EventHandedOver, extra, func(c Case, ch *change) error {
		return s.returnedToApplicant(ctx, tx, a, c, ch)
	})
}

// returnedToApplicant checks that every handover item was verified and
// gives every returned original back to the applicant.
func (s *Service) returnedToApplicant(ctx context.Context, tx pgx.Tx, a Actor, c Case, ch *change) error {
	items, err := s.q.HandoverItems(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	for _, it := range items {
		if !it.Verified {
			return daiban.Invalid("items", "「%s」尚未核验，不能交付", it.Name)
		}
		if it.MaterialCode != nil {
			code := *it.MaterialCode
			ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
				return s.moveTx(ctx, tx, a, c, code, "applicant", 1, "交付时退还原件", 0)
			})
		}
	}
	return nil
}

func (s *Service) eventTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, event string, extra map[string]any, prep func(Case, *change) error) (Case, error) {
	row, err := s.q.CaseGetForUpdate(ctx, tx, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	cur, err := s.caseOf(row)
	if err != nil {
		return Case{}, err
	}
	edge, ok := Next(cur.State, cur.PausedFrom, event, "")
	if !ok {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件处于「%s」状态，不能%s", StateNames[cur.State], ActionNames[event])
	}
	now := s.Now()
	ch := change{row: updateFrom(row, now), ledger: map[string]any{}}
	for k, v := range extra {
		ch.ledger[k] = v
	}
	if err := prep(cur, &ch); err != nil {
		return Case{}, err
	}
	to := edge.Resolve(cur.State, cur.PausedFrom)
	s.applyEdge(&ch, cur, to, edge, now)
	s.tellAfter(ctx, &ch, cur, event, to)
	w := newPipe(tx)
	if err := s.q.CaseUpdate(ctx, w, ch.row); err != nil {
		return Case{}, err
	}
	for _, f := range ch.after {
		if err := f(w); err != nil {
			return Case{}, err
		}
	}
	ch.ledger["number"], ch.ledger["action"], ch.ledger["from"], ch.ledger["to"], ch.ledger["version"] = cur.Number, event, cur.State, to, cur.Version+1
	if err := s.record(ctx, w, a.Username, id, cur.Region, "case."+event, ch.ledger); err != nil {
		return Case{}, err
	}
	if err := w.flush(ctx); err != nil {
		return Case{}, err
	}
	return s.Load(ctx, tx, id)
}

// VerifyHandoverTx records the agent's verification of each handover item
// before the applicant signs; every item must be listed and verified.
func (s *Service) VerifyHandoverTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, verified map[int64]bool) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: verify handover items of case %d", id)
	row, err := s.q.CaseGetForUpdate(ctx, tx, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	if State(row.State) != ReadyForHandover {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件处于「%s」状态，不能交付", StateNames[State(row.State)])
	}
	items, err := s.q.HandoverItems(ctx, tx, id)
	if err != nil {
		return Case{}, err
	}
	var unverified []string
	for _, it := range items {
		v, listed := verified[it.ID]
		if !listed || !v {
			unverified = append(unverified, it.Name)
		}
	}
	if len(unverified) > 0 {
		return Case{}, daiban.Invalid("items", "以下项目尚未核验：%s", strings.Join(unverified, "、"))
	}
	for itemID := range verified {
		found := false
		for _, it := range items {
			found = found || it.ID == itemID
		}
		if !found {
			return Case{}, daiban.Invalid("items", "交付项目 %d 不属于本案件", itemID)
		}
	}
	for _, it := range items {
		if _, err := s.q.HandoverItemVerify(ctx, tx, true, id, it.ID); err != nil {
			return Case{}, err
		}
	}
	c, err := s.caseOf(row)
	if err != nil {
		return Case{}, err
	}
	return c, s.record(ctx, tx, a.Username, id, row.Region, "case.handover_verified", map[string]any{"number": row.Number, "items": len(items)})
}

// Move is a hand-over of an original material between holders: the
// applicant, a staff username, or department:<name>.
type Move struct {
	Material string `json:"material"`
	From     string `json:"from"`
	To       string `json:"to"`
	Count    int    `json:"count"`
	Note     string `json:"note"`
}

// CustodyTx records a hand-over of an original. Only its current holder
// hands it on, or an agent acting for the applicant or a department.
func (s *Service) CustodyTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, m Move) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: custody of %s on case %d", m.Material, id)
	row, err := s.q.CaseGetForUpdate(ctx, tx, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	c, err := s.caseOf(row)
	if err != nil {
		return Case{}, err
	}
	note, err := text("note", m.Note, 500, false)
	if err != nil {
		return Case{}, err
	}
	if m.Count < 1 || m.Count > 1000 {
		return Case{}, daiban.Invalid("count", "份数应为 1 至 1000")
	}
	mats, err := s.q.CaseMaterials(ctx, tx, id)
	if err != nil {
		return Case{}, err
	}
	var mat *dbsqlc.CaseMaterial
	for i := range mats {
		if mats[i].Code == m.Material {
			mat = &mats[i]
		}
	}
	if mat == nil {
		return Case{}, daiban.Invalid("material", "本案件没有材料 %q", m.Material)
	}
	if m.From != mat.Holder {
		return Case{}, daiban.Invalid("from", "材料「%s」当前由 %s 持有，不是 %s", mat.Name, holderName(mat.Holder), holderName(m.From))
	}
	if m.From == "applicant" && !c.State.Open() {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件已结束，不能再接收申请人的材料")
	}
	if !strings.HasPrefix(m.From, "department:") && m.From != "applicant" && m.From != a.Username {
		return Case{}, daiban.Errorf(daiban.EFORBIDDEN, "只有材料的当前持有人 %s 才能移交该材料", m.From)
	}
	if err := s.checkHolder(ctx, tx, c, m.To); err != nil {
		return Case{}, err
	}
	if m.To == m.From {
		return Case{}, daiban.Invalid("to", "接收方与移交方相同")
	}
	if err := s.q.CaseUpdate(ctx, tx, updateFrom(row, s.Now())); err != nil {
		return Case{}, err
	}
	if err := s.moveTx(ctx, tx, a, c, m.Material, m.To, m.Count, note, c.Version+1); err != nil {
		return Case{}, err
	}
	return s.Load(ctx, tx, id)
}

// moveTx writes the move, the new holder and the ledger entry; version is
// the case version the move made (0 when it is part of another event).
func (s *Service) moveTx(ctx context.Context, tx dbsqlc.DBTX, a Actor, c Case, code, to string, count int, note string, version int) error {
	mats, err := s.q.CaseMaterials(ctx, tx, c.ID)
	if err != nil {
		return err
	}
	from := ""
	for _, m := range mats {
		if m.Code == code {
			from = m.Holder
		}
	}
	if from == to {
		return nil
	}
	now := s.Now()
	if _, err := s.q.CustodyInsert(ctx, tx, dbsqlc.CustodyInsertParams{CaseID: c.ID, MaterialCode: code, FromHolder: from, ToHolder: to, Count: int32(count), Note: note, Actor: a.Username, At: now}); err != nil {
		return err
	}
	if _, err := s.q.CaseMaterialSetHolder(ctx, tx, to, c.ID, code); err != nil {
		return err
	}
	entry := map[string]any{"number": c.Number, "material": code, "holder_from": from, "holder_to": to, "count": count, "note": note}
	if version > 0 {
		entry["version"] = version
	}
	return s.record(ctx, tx, a.Username, c.ID, c.Region, "case.custody", entry)
}

// checkHolder checks who may receive an original of case c: the
// applicant, a department, or a staff user who can see the case — never
// just anyone of the county.
func (s *Service) checkHolder(ctx context.Context, tx pgx.Tx, c Case, h string) error {
	switch {
	case h == "applicant":
		return nil
	case strings.HasPrefix(h, "department:"):
		name := strings.TrimSpace(strings.TrimPrefix(h, "department:"))
		if name == "" || len([]rune(name)) > 100 {
			return daiban.Invalid("to", "部门名称应为 1 至 100 字，如 department:县市场监管局")
		}
		_, err := text("to", name, 100, true)
		return err
	}
	u, err := s.q.UserRole(ctx, tx, h)
	if err != nil {
		return invalidIfMissing(err, "to", "接收方 %q 不存在或已停用：应为 applicant、工作人员用户名或 department:部门名称", h)
	}
	if !s.canSee(policies.Grant{Username: h, Role: policies.Role(u.Role), Region: u.Region}, c) {
		return daiban.Invalid("to", "接收方 %s 无权查看本案件：原件只能移交给申请人、部门或能查看本案件的工作人员", h)
	}
	return nil
}

// canSee reports whether the user of grant g may read case c, as the
// guard would decide it. g is read from the users table just now; the
// authorizer is brought in step with it first (as the guard does for a
// signed-in user), so a new, moved or demoted user is judged as they are.
func (s *Service) canSee(g policies.Grant, c Case) bool {
	if cur, ok := s.authz.Grant(g.Username); !ok || cur != g {
		if err := s.authz.SetGrant(g); err != nil {
			return false
		}
	}
	rel := policies.RelAny
	if c.CreatedBy == g.Username || c.Assignee == g.Username {
		rel = policies.RelOwn
	}
	return s.authz.Allow(g.Username, c.Region, "case", "read", rel)
}

func holderName(h string) string {
	switch {
	case h == "applicant":
		return "申请人"
	case strings.HasPrefix(h, "department:"):
		return strings.TrimPrefix(h, "department:")
	}
	return fmt.Sprintf("工作人员 %s", h)
}
