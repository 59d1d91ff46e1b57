package deadlines

import (
	"context"

	"github.com/daiban/daiban"
)

// The notices inbox of the pages: the unread count in the navigation and
// "mark all read". Reading is the recipient's own business: no ledger
// entry, and nobody marks another user's notices.

// UnreadCount returns how many of username's notices are unread.
func (s *Service) UnreadCount(ctx context.Context, username string) (_ int, err error) {
	defer daiban.Wrap(&err, "deadlines: count unread notices of %s", username)
	n, err := s.q.NoticeUnreadCount(ctx, s.pool, username)
	return int(n), err
}

// MarkAllRead marks every unread notice of username read and returns how
// many it marked.
func (s *Service) MarkAllRead(ctx context.Context, username string) (_ int, err error) {
	defer daiban.Wrap(&err, "deadlines: mark notices of %s read", username)
	n, err := s.q.NoticeMarkAllRead(ctx, s.pool, s.now(), username)
	return int(n), err
}
