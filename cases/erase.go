package cases

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Erasure is what erasing a person removes (or, in a dry run, would).
type Erasure struct {
	Cases     []string // case numbers
	Documents int      // sealed PDFs and signature images removed
	DryRun    bool
}

// shanghai is the time zone of dates shown to the administrator.
var shanghai = time.FixedZone("CST", 8*3600)

// ErasedName stands in for an erased applicant's name.
const ErasedName = "（已删除）"

// ErasePerson deletes the readable personal data of the applicant with ID
// number idNumber (个人信息保护法: when the purpose is fulfilled and the
// retention period has ended): name, sealed ID number and phone, summaries
// and rating comments, the sealed PDFs and handwritten signatures of their
// cases, and the per-case commitment keys with the readable values of the
// ledger's commitments. The ledger itself is not touched, so it verifies
// byte for byte; its commitments can no longer be tied to anyone. Refused
// while any of the person's cases is open or closed less than retention
// ago. The erasure is a ledger entry naming the case numbers only.
func ErasePerson(ctx context.Context, pool *pgxpool.Pool, keys *pii.Keys, actor, idNumber string, retention time.Duration, now time.Time, dryRun bool) (_ Erasure, err error) {
	defer daiban.Wrap(&err, "cases: erase person")
	idNumber = strings.ToUpper(strings.TrimSpace(idNumber))
	if idNumber == "" {
		return Erasure{}, daiban.Invalid("id_number", "缺少身份证号码")
	}
	out := Erasure{DryRun: dryRun}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ids, err := erasableCases(ctx, tx, keys, idNumber, retention, now, &out)
		if err != nil || dryRun {
			return err
		}
		if err := eraseBookings(ctx, tx, keys, ids); err != nil {
			return err
		}
		if out.Documents, err = eraseRows(ctx, tx, ids); err != nil {
			return err
		}
		_, err = ledger.Append(ctx, tx, ledger.Meta{Actor: actor, Type: "person.erased"},
			map[string]any{"cases": out.Cases, "documents": out.Documents})
		return err
	})
	return out, err
}

// erasableCases locks the person's cases and checks that each may be
// erased.
func erasableCases(ctx context.Context, tx pgx.Tx, keys *pii.Keys, idNumber string, retention time.Duration, now time.Time, out *Erasure) ([]int64, error) {
	rows, err := dbsqlc.New().PersonCasesForUpdate(ctx, tx, keys.Indexes(pii.CaseIDNumber, idNumber))
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range rows {
		if State(r.State).Open() {
			return nil, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件 %s 尚在办理中（%s），不能删除申请人的个人信息", r.Number, StateNames[State(r.State)])
		}
		if c := r.ClosedAt; c != nil && c.Add(retention).After(now) {
			return nil, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件 %s 于 %s 办结，保存期限（%d 天）未满，%s 之后才能删除",
				r.Number, c.In(shanghai).Format("2006-01-02"), int(retention.Hours()/24), c.Add(retention).In(shanghai).Format("2006-01-02"))
		}
		ids = append(ids, r.ID)
		out.Cases = append(out.Cases, r.Number)
	}
	if len(ids) == 0 {
		return nil, daiban.Errorf(daiban.ENOTFOUND, "没有该身份证号码的申请人（或其个人信息已删除）")
	}
	return ids, nil
}

// eraseRows removes the readable data of the cases ids and returns how
// many documents lost their PDF.
func eraseRows(ctx context.Context, tx pgx.Tx, ids []int64) (int, error) {
	q := dbsqlc.New()
	// The name is replaced in free text before the case row loses it.
	steps := []func() error{
		func() error { return q.EraseNoticeNames(ctx, tx, ErasedName, ids) },
		func() error { return q.EraseCustodyNames(ctx, tx, ErasedName, ids) },
		func() error { return q.EraseEscalationNames(ctx, tx, ErasedName, ids) },
		func() error { return q.EraseRectifications(ctx, tx, ErasedName, ids) },
		func() error { return q.EraseResultNumbers(ctx, tx, ids) },
		func() error { return q.EraseApplicants(ctx, tx, ErasedName, ids) },
		func() error { return q.ErasePendingPII(ctx, tx, ids) },
		func() error { return q.EraseSignatureImages(ctx, tx, ids) },
		func() error { return q.EraseSignLinks(ctx, tx, ids) },
		func() error { return q.EraseCopyLinks(ctx, tx, ids) },
		func() error { return q.EraseOpenings(ctx, tx, ids) },
		func() error { return q.EraseCaseKeys(ctx, tx, ids) },
		func() error { return q.EraseAppointments(ctx, tx, ErasedName, ids) },
		func() error { return q.EraseDeliveries(ctx, tx, ids) },
		func() error { return q.EraseNotificationData(ctx, tx, ids) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return 0, fmt.Errorf("erasing: %w", err)
		}
	}
	n, err := q.EraseDocumentFiles(ctx, tx, ids)
	if err != nil {
		return 0, fmt.Errorf("erasing documents: %w", err)
	}
	return int(n), nil
}

// eraseBookings clears every booking made with the phones of the cases
// ids (found by the phone's blind index, before the cases lose it): the
// person may have booked more than the case that came of it.
func eraseBookings(ctx context.Context, tx pgx.Tx, keys *pii.Keys, ids []int64) error {
	q := dbsqlc.New()
	rows, err := q.ErasePhonesOfCases(ctx, tx, ids)
	if err != nil {
		return err
	}
	var idx [][]byte
	for _, r := range rows {
		phone, err := keys.OpenString(pii.CasePhone, r.Number, r.ApplicantPhoneEnc)
		if err != nil {
			return fmt.Errorf("opening the phone of %s: %w", r.Number, err)
		}
		if phone != "" {
			idx = append(idx, keys.Indexes(pii.AppointmentPhone, phone)...)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	return q.EraseBookingsOfPhone(ctx, tx, ErasedName, idx)
}
