package deadlines

import "context"

// SetBeforeCommit installs a hook that runs inside each deadline notice's
// transaction just before it commits (nil removes it).
func SetBeforeCommit(s *Service, f func(ctx context.Context, caseID int64, level string)) {
	if f == nil {
		s.beforeCommit.Store(nil)
		return
	}
	s.beforeCommit.Store(&f)
}

// ReminderDue is reminderDue.
var ReminderDue = reminderDue
