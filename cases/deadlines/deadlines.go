// Package deadlines holds everything about a delegated case's promised
// limit, in one place:
//
//   - the clock (clock.go): the due date from the signing day, the pauses
//     and the working-day calendar, recomputed when the clock restarts;
//     Service implements cases.Deadlines, which the case service calls
//     inside each action's transaction;
//   - calendar imports (calendar_import.go): a new calendar and every open
//     due date it moves, in one transaction;
//   - notices (notices.go, scan.go, jobs.go, notices_http.go): warnings
//     before the due date, 督办 at breach and on a supervisor's note, the
//     outbox and its delivery, the periodic River scan and the
//     /api/v1/notices routes;
//   - the supervisor's lists (supervision.go): what is late or about to
//     be in a region, /api/v1/supervision.
//
// Package cases does not import this one: the case service receives the
// Service as its cases.Deadlines at construction.
package deadlines

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Config is what a Service needs; NewService takes it whole.
type Config struct {
	Pool   *pgxpool.Pool
	Logger *slog.Logger // slog.Default() when nil
	// Calendar returns the working-day calendar in force (it can change
	// while the server runs); Calendars.Live.Current when nil.
	Calendar func() *calendar.Calendar
	// Calendars, when set, is the calendar kept in the database: due dates
	// are computed with the version in force as the transaction sees it,
	// and ImportCalendar writes to it. Without it, Calendar is used and
	// ImportCalendar fails.
	Calendars *calendar.Store
	// Now is the clock the scan judges thresholds and working hours by
	// (time.Now when nil); tests move it.
	Now func() time.Time
	// Sender delivers notices (LogSender when nil).
	Sender Sender
}

// Service keeps the deadline clock of every delegated case, imports
// calendars, and creates, lists and delivers notices.
type Service struct {
	pool      *pgxpool.Pool
	q         *dbsqlc.Queries
	cal       func() *calendar.Calendar
	calendars *calendar.Store
	logger    *slog.Logger
	now       func() time.Time
	sender    Sender
	// maxAttempts bounds the deliveries tried per notice.
	maxAttempts int

	// beforeCommit, when set (tests), runs inside a deadline notice's
	// transaction just before it commits.
	beforeCommit atomic.Pointer[func(ctx context.Context, caseID int64, level string)]
}

var _ cases.Deadlines = (*Service)(nil)

// NewService returns the service.
func NewService(c Config) *Service {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Calendar == nil && c.Calendars != nil {
		c.Calendar = c.Calendars.Live.Current
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sender == nil {
		c.Sender = LogSender{Logger: c.Logger}
	}
	return &Service{pool: c.Pool, q: dbsqlc.New(), cal: c.Calendar, calendars: c.Calendars, logger: c.Logger,
		now: c.Now, sender: c.Sender, maxAttempts: 10}
}

// record appends a case's ledger entry in the caller's transaction.
func record(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) error {
	return ledger.Record(ctx, db, ledger.Meta{Actor: actor, CaseID: caseID, Region: region, Type: typ}, payload)
}
