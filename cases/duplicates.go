package cases

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Duplicate is an open case of the same applicant for the same matter (or
// a matter of the same 一件事) as a case being registered.
type Duplicate struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Title  string `json:"title"`
	State  State  `json:"state"`
	Region string `json:"region"`
}

// DuplicateReasonField names the reason an agent gives for registering
// an applicant again while a case for the same matter is open.
const DuplicateReasonField = "duplicate_reason"

// OpenDuplicates lists the open cases of the applicant with idNumber for
// the matter (or 一件事) code, or for a matter sharing a 一件事 with it.
func (s *Service) OpenDuplicates(ctx context.Context, idNumber, matter string) (_ []Duplicate, err error) {
	defer daiban.Wrap(&err, "cases: look for open duplicates")
	var out []Duplicate
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, _, _, codes, err := s.resolveMatter(ctx, tx, matter)
		if err != nil {
			return err
		}
		out, err = s.duplicates(ctx, tx, idNumber, codes)
		return err
	})
	return out, err
}

func (s *Service) duplicates(ctx context.Context, db dbsqlc.DBTX, idNumber string, codes []string) ([]Duplicate, error) {
	id := strings.ToUpper(strings.TrimSpace(idNumber))
	if id == "" {
		return nil, nil
	}
	rows, err := s.q.CaseOpenDuplicates(ctx, db, s.pii.Indexes(pii.CaseIDNumber, id), codes)
	if err != nil {
		return nil, err
	}
	out := make([]Duplicate, 0, len(rows))
	for _, r := range rows {
		out = append(out, Duplicate{ID: r.ID, Number: r.Number, Title: r.Title, State: State(r.State), Region: r.Region})
	}
	return out, nil
}

// checkDuplicates refuses a registration that repeats an open case unless
// the agent gives a reason; it returns the numbers of the open cases and
// the reason, for the ledger entry.
func (s *Service) checkDuplicates(ctx context.Context, db dbsqlc.DBTX, in NewCase, codes []string) ([]string, string, error) {
	dups, err := s.duplicates(ctx, db, in.Applicant.IDNumber, codes)
	if err != nil || len(dups) == 0 {
		return nil, "", err
	}
	reason, err := text(DuplicateReasonField, in.DuplicateReason, 500, false)
	if err != nil {
		return nil, "", err
	}
	numbers := make([]string, len(dups))
	for i, d := range dups {
		numbers[i] = d.Number
	}
	if reason == "" {
		return nil, "", &daiban.Error{Code: daiban.EDUPLICATE, Field: DuplicateReasonField, CaseID: dups[0].ID,
			Message: fmt.Sprintf("该申请人已有同一事项的在办案件（%s）。请先查看在办案件；如确需另行登记，请填写原因", strings.Join(numbers, "、"))}
	}
	return numbers, reason, nil
}
