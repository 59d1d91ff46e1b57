package agreements

import (
	"context"
	"strconv"
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

// currentNotice takes the case's and the user's notice locks for the
// rest of the transaction, so concurrent requests see each other, and
// returns the case with the notice still in force for it, if any (then
// nothing is sealed). It refuses a user past the per-minute bound. The
// locks are tried, never waited for: a request waiting would hold a
// database connection that the one holding the lock may need, so a
// flood would stall the pool; a request that finds the lock taken is
// told to look again in a moment.
func (s *Service) currentNotice(ctx context.Context, tx pgx.Tx, a cases.Actor, caseID int64) (cases.Case, *Document, error) {
	if err := s.tryNoticeLock(ctx, tx, "case:"+strconv.FormatInt(caseID, 10), "本案件的一次告知单正在开具，请稍后刷新查看"); err != nil {
		return cases.Case{}, nil, err
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
	if err := s.tryNoticeLock(ctx, tx, "user:"+a.Username, "您的另一份一次告知单正在开具，请稍后再试"); err != nil {
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

// tryNoticeLock takes a notice lock or refuses with busy.
func (s *Service) tryNoticeLock(ctx context.Context, tx pgx.Tx, key, busy string) error {
	ok, err := s.q.NoticeTryLock(ctx, tx, key)
	if err != nil {
		return err
	}
	if !ok {
		return daiban.Errorf(daiban.ETOOMANYREQUESTS, "%s", busy)
	}
	return nil
}
