package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Delivery is how results reach the applicant.
type Delivery string

// The deliveries: a verified handover in person at the counter, or by
// post (证照到付) with the applicant or the carrier confirming.
const (
	InPerson Delivery = "in_person"
	ByPost   Delivery = "post"
)

// Deliveries lists them in the order the form shows.
var Deliveries = []Delivery{InPerson, ByPost}

// Name is the delivery's Chinese label.
func (d Delivery) Name() string {
	if d == ByPost {
		return "邮寄送达（证照到付）"
	}
	return "窗口当面交付"
}

func (s *Service) prepareDelivery(st *step, d Delivery) error {
	if d == "" {
		d = InPerson
	}
	if !slices.Contains(Deliveries, d) {
		return daiban.Invalid("delivery", "请选择交付方式：窗口当面交付或邮寄送达")
	}
	st.then(func(tx dbsqlc.DBTX) error { return s.q.DeliveryUpsert(st.ctx, tx, st.c.ID, string(d), st.now) })
	st.ch.ledger["delivery"] = d
	if d == ByPost {
		st.public("办理结果已出具，将按您的选择邮寄送达（证照到付）；寄出后会以短信告知运单号和确认码")
	}
	return nil
}

// Post is a postal dispatch: the carrier, its waybill number and the
// address (personal data: sealed, shown masked).
type Post struct {
	Carrier string `json:"carrier"`
	Waybill string `json:"waybill"`
	Address string `json:"address"`
}

// DeliveryView is a case's delivery as staff and the applicant see it.
type DeliveryView struct {
	Method        Delivery   `json:"method"`
	Carrier       string     `json:"carrier,omitempty"`
	Waybill       string     `json:"waybill,omitempty"`
	AddressMasked string     `json:"address,omitempty"`
	DispatchedAt  *time.Time `json:"dispatched_at,omitempty"`
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty"`
	ConfirmedBy   string     `json:"confirmed_by,omitempty"`
}

// DeliveryOf returns a case's delivery (in person when none was chosen).
func (s *Service) DeliveryOf(ctx context.Context, db dbsqlc.DBTX, id int64) (DeliveryView, error) {
	d, err := s.q.DeliveryGet(ctx, db, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return DeliveryView{Method: InPerson}, nil
	} else if err != nil {
		return DeliveryView{}, err
	}
	v := DeliveryView{Method: Delivery(d.Method), Carrier: d.Carrier, Waybill: d.Waybill, DispatchedAt: d.DispatchedAt, ConfirmedAt: d.ConfirmedAt, ConfirmedBy: d.ConfirmedBy}
	if d.AddressEnc != nil {
		if a, err := s.pii.OpenString(pii.DeliveryAddress, strconv.FormatInt(id, 10), d.AddressEnc); err == nil {
			v.AddressMasked = MaskAddress(a)
		}
	}
	return v, nil
}

// MaskAddress keeps an address's first six characters (the county or
// district) and hides the rest: 山东省淄博市****.
func MaskAddress(a string) string {
	r := []rune(strings.TrimSpace(a))
	if len(r) <= 6 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", 4)
}

func (p *Post) check() error {
	var err error
	if p.Carrier, err = text("post.carrier", p.Carrier, 30, true); err != nil {
		return daiban.Invalid("post.carrier", "请填写承运商，如 EMS（不超过 30 字）")
	}
	p.Waybill = strings.ToUpper(strings.TrimSpace(p.Waybill))
	if len(p.Waybill) < 6 || len(p.Waybill) > 40 || strings.Trim(p.Waybill, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
		return daiban.Invalid("post.waybill", "运单号应为 6 至 40 位字母或数字")
	}
	if p.Address, err = text("post.address", p.Address, 200, true); err != nil || len([]rune(p.Address)) < 6 {
		return daiban.Invalid("post.address", "请填写完整的收件地址（6 至 200 字）")
	}
	return nil
}

// DispatchTx records the posting of a case's results (after the agent
// verified every item) and returns a one-time code for the applicant and
// the phone to send it to. The address is sealed; the ledger gets the
// carrier and waybill only.
func (s *Service) DispatchTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, p Post) (otp, phone string, err error) {
	defer daiban.Wrap(&err, "cases: dispatch results of case %d by post", id)
	c, err := s.Load(ctx, tx, id)
	if err != nil {
		return "", "", err
	}
	d, err := s.q.DeliveryGetForUpdate(ctx, tx, id)
	if err != nil || d.Method != string(ByPost) {
		return "", "", daiban.Invalid("post", "本案件的交付方式不是邮寄送达")
	}
	if err := p.check(); err != nil {
		return "", "", err
	}
	otp = NewOneTimeCode()
	row := strconv.FormatInt(id, 10)
	now := s.Now()
	err = s.q.DeliveryDispatch(ctx, tx, dbsqlc.DeliveryDispatchParams{Carrier: p.Carrier, Waybill: p.Waybill, AddressEnc: s.pii.SealString(pii.DeliveryAddress, row, p.Address),
		OtpHash: HashCode("delivery", row, otp), At: &now, CaseID: id})
	if err != nil {
		return "", "", err
	}
	return otp, c.Applicant.Phone, s.record(ctx, tx, a.Username, id, c.Region, "case.dispatched",
		map[string]any{"number": c.Number, "carrier": p.Carrier, "waybill": p.Waybill, "public_note": "办理结果已寄出：" + p.Carrier + " 运单号 " + p.Waybill})
}

// CheckDeliveryCode checks the applicant's one-time code for a posted
// case; a wrong code is counted (committed even though refused) and the
// fifth voids it (the agent can still record the carrier's proof).
func (s *Service) CheckDeliveryCode(ctx context.Context, id int64, code string) error {
	var refusal error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := s.q.DeliveryGetForUpdate(ctx, tx, id)
		if err != nil || d.Method != string(ByPost) || d.DispatchedAt == nil || d.ConfirmedAt != nil {
			refusal = daiban.Errorf(daiban.EINVALIDTRANSITION, "本件没有待确认的邮寄送达")
			return nil
		}
		if CodeMatches(d.OtpHash, "delivery", strconv.FormatInt(id, 10), strings.TrimSpace(code)) {
			return nil
		}
		if d.OtpHash == nil {
			refusal = daiban.Invalid("otp", "确认码已失效，请联系代办员")
			return nil
		}
		n, err := s.q.DeliveryTry(ctx, tx, s.Now(), id)
		if err != nil {
			return err
		}
		if n >= MaxCodeTries {
			_, err = tx.Exec(ctx, "UPDATE case_deliveries SET otp_hash = NULL WHERE case_id = $1", id)
			refusal = daiban.Invalid("otp", "确认码连续错误 %d 次，已失效，请联系代办员", MaxCodeTries)
			return err
		}
		refusal = daiban.Invalid("otp", "确认码不正确，还可尝试 %d 次", MaxCodeTries-int(n))
		return nil
	})
	if err != nil {
		return err
	}
	return refusal
}

// PostedTx closes a case whose posted results were confirmed: by the
// applicant signing the receipt on the phone, or by the carrier's signed
// proof. Every item must have been verified; returned originals are the
// applicant's again.
func (s *Service) PostedTx(ctx context.Context, tx pgx.Tx, a Actor, id int64, by string, proof []byte, extra map[string]any) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: posted results of case %d confirmed", id)
	d, err := s.q.DeliveryGetForUpdate(ctx, tx, id)
	if err != nil || d.Method != string(ByPost) || d.DispatchedAt == nil {
		return Case{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "本件的办理结果尚未邮寄")
	}
	if extra == nil {
		extra = map[string]any{}
	}
	extra["confirmed_by"], extra["waybill"] = by, d.Waybill
	return s.eventTx(ctx, tx, a, id, EventPosted, extra, func(c Case, ch *change) error {
		if err := s.returnedToApplicant(ctx, tx, a, c, ch); err != nil {
			return err
		}
		ch.after = append(ch.after, func(tx dbsqlc.DBTX) error {
			now := s.Now()
			return s.q.DeliveryConfirm(ctx, tx, dbsqlc.DeliveryConfirmParams{At: &now, ConfirmedBy: by, ProofPng: proof, CaseID: id})
		})
		return nil
	})
}

// Delivery returns a case's delivery (DeliveryOf on the service's pool).
func (s *Service) Delivery(ctx context.Context, id int64) (DeliveryView, error) {
	return s.DeliveryOf(ctx, s.pool, id)
}

// ResealAddresses seals again, under the current key version, every postal
// address sealed under another (part of a key rotation); it returns how
// many it re-sealed.
func ResealAddresses(ctx context.Context, pool dbsqlc.DBTX, k *pii.Keys) (int, error) {
	q, prefix, n := dbsqlc.New(), pii.VersionPrefix(k.Current()), 0
	for {
		rows, err := q.DeliveryAddressStale(ctx, pool, prefix)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			row := strconv.FormatInt(r.CaseID, 10)
			a, err := k.OpenString(pii.DeliveryAddress, row, r.AddressEnc)
			if err != nil {
				return n, fmt.Errorf("cases: address of case %d: %w", r.CaseID, err)
			}
			if err := q.DeliveryAddressReseal(ctx, pool, k.SealString(pii.DeliveryAddress, row, a), r.CaseID, r.AddressEnc); err != nil {
				return n, err
			}
			n++
		}
	}
}
