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
	rows, err := tx.Query(ctx, `SELECT id, number, state, closed_at FROM cases
WHERE applicant_id_number_bidx = ANY($1::bytea[]) ORDER BY id FOR UPDATE`, keys.Indexes(pii.CaseIDNumber, idNumber))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var number, state string
		var closed *time.Time
		if err := rows.Scan(&id, &number, &state, &closed); err != nil {
			return nil, err
		}
		if State(state).Open() {
			return nil, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件 %s 尚在办理中（%s），不能删除申请人的个人信息", number, StateNames[State(state)])
		}
		if closed != nil && closed.Add(retention).After(now) {
			return nil, daiban.Errorf(daiban.EINVALIDTRANSITION, "案件 %s 于 %s 办结，保存期限（%d 天）未满，%s 之后才能删除",
				number, closed.In(shanghai).Format("2006-01-02"), int(retention.Hours()/24), closed.Add(retention).In(shanghai).Format("2006-01-02"))
		}
		ids = append(ids, id)
		out.Cases = append(out.Cases, number)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, daiban.Errorf(daiban.ENOTFOUND, "没有该身份证号码的申请人（或其个人信息已删除）")
	}
	return ids, nil
}

// eraseRows removes the readable data of the cases ids and returns how
// many documents lost their PDF.
func eraseRows(ctx context.Context, tx pgx.Tx, ids []int64) (int, error) {
	stmts := []string{
		// Free text that may quote the name: replaced where it does.
		`UPDATE notices n SET body = replace(n.body, c.applicant_name, $2), title = replace(n.title, c.applicant_name, $2)
		 FROM cases c WHERE n.case_id = c.id AND c.id = ANY($1) AND c.applicant_name <> ''`,
		`UPDATE custody_moves m SET note = replace(m.note, c.applicant_name, $2)
		 FROM cases c WHERE m.case_id = c.id AND c.id = ANY($1) AND c.applicant_name <> ''`,
		`UPDATE cases SET applicant_name = $2, applicant_id_number_enc = NULL, applicant_phone_enc = NULL,
		 applicant_id_number_bidx = NULL, applicant_phone_bidx = NULL, summary = '', rating_comment = NULL
		 WHERE id = ANY($1)`,
		`DELETE FROM cases_pii_pending WHERE case_id = ANY($1)`,
		`UPDATE signatures s SET image_png = ''::bytea FROM documents d WHERE s.document_id = d.id AND d.case_id = ANY($1)`,
		`DELETE FROM sign_links l USING documents d WHERE l.document_id = d.id AND d.case_id = ANY($1)`,
		`DELETE FROM copy_links l USING documents d WHERE l.document_id = d.id AND d.case_id = ANY($1)`,
		`DELETE FROM ledger_openings WHERE case_id = ANY($1)`,
		`DELETE FROM ledger_case_keys WHERE case_id = ANY($1)`,
	}
	for _, s := range stmts {
		args := []any{ids}
		if strings.Contains(s, "$2") {
			args = append(args, ErasedName)
		}
		if _, err := tx.Exec(ctx, s, args...); err != nil {
			return 0, fmt.Errorf("erasing: %w", err)
		}
	}
	// A sealed document keeps its SHA-256, so its verification page and
	// ledger proof still answer; the PDF, which shows the person, goes.
	tag, err := tx.Exec(ctx, `UPDATE documents SET pdf = CASE WHEN pdf IS NULL THEN NULL ELSE ''::bytea END
		WHERE case_id = ANY($1) AND pdf IS NOT NULL`, ids)
	if err != nil {
		return 0, fmt.Errorf("erasing documents: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
