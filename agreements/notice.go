package agreements

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
)

// Sealing a notice costs a PDF rendering, a seal and a ledger entry, and
// every copy verifies as genuine. A counter needs a notice per case and
// rarely a fresh one, so sealing is bounded twice:
const (
	// NoticeReuse: within this time a case's notice is handed out again
	// while the case has not changed since it was sealed (the notice
	// prints the case's matters and applicant; the window bounds how long
	// a change to the matter catalog waits for a fresh one).
	NoticeReuse = 10 * time.Minute
	// NoticesPerMinute is how many notices one user seals in a minute.
	NoticesPerMinute = 10
)

// currentNotice locks the case and the user's notice count for the rest
// of the transaction, so concurrent requests see each other, and returns
// the case with the notice still in force for it, if any (then nothing
// is sealed). It refuses a user past the per-minute bound.
func (s *Service) currentNotice(ctx context.Context, tx pgx.Tx, a cases.Actor, caseID int64) (cases.Case, *Document, error) {
	if _, err := s.q.CaseGetForUpdate(ctx, tx, caseID); err != nil {
		return cases.Case{}, nil, daiban.NoRows(err, "案件不存在")
	}
	c, err := s.cases.Load(ctx, tx, caseID)
	if err != nil {
		return c, nil, err
	}
	now := s.Now()
	var last *cases.DocumentRef
	for i := range c.Documents {
		if d := &c.Documents[i]; d.Kind == KindNotice && (last == nil || d.ID > last.ID) {
			last = d
		}
	}
	if last != nil && !last.IssuedAt.Before(c.UpdatedAt) && now.Sub(last.IssuedAt) < NoticeReuse {
		d, err := s.q.DocumentGet(ctx, tx, last.ID)
		if err != nil {
			return c, nil, err
		}
		return c, &Document{ID: d.ID, Kind: d.Kind, SHA256: last.SHA256, IssuedAt: last.IssuedAt, VerifyCode: d.VerifyCode}, nil
	}
	if err := s.q.NoticeIssuerLock(ctx, tx, a.Username); err != nil {
		return c, nil, err
	}
	n, err := s.q.NoticesIssuedSince(ctx, tx, a.Username, now.Add(-time.Minute))
	if err != nil {
		return c, nil, err
	}
	if n >= NoticesPerMinute {
		return c, nil, daiban.Errorf(daiban.ETOOMANYREQUESTS, "一分钟内最多开具 %d 份一次告知单，请稍后再试", NoticesPerMinute)
	}
	return c, nil, nil
}
