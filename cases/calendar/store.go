package calendar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// NotifyChannel is the PostgreSQL channel an import notifies, with the new
// version as payload.
const NotifyChannel = "daiban_calendar"

// Store keeps the calendar in the database (tables calendar_years,
// calendar_days, calendar_state) and keeps Live in step with it.
type Store struct {
	pool   *pgxpool.Pool
	q      *dbsqlc.Queries
	logger *slog.Logger
	// Live is the calendar in force in this process.
	Live *Live
}

// NewStore returns the store on pool. Live holds the built-in calendar
// until Load reads the database's.
func NewStore(pool *pgxpool.Pool, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	return &Store{pool: pool, q: dbsqlc.New(), logger: logger, Live: NewLive(Default(), 0)}
}

// YearInfo describes one loaded year's notice.
type YearInfo struct {
	Year       int       `json:"year"`
	ImportedAt time.Time `json:"imported_at"`
	Source     string    `json:"source"` // "builtin" or the SHA-256 of the imported file
}

// Load reads the calendar from the database into Live. On the very first
// start (no calendar stored yet) it stores the built-in one first; several
// servers starting together store it once.
func (s *Store) Load(ctx context.Context) (*Calendar, int64, error) {
	v, err := s.q.CalendarVersion(ctx, s.pool)
	if err != nil {
		return nil, 0, fmt.Errorf("calendar: %w", err)
	}
	if v == 0 {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			v, err := s.q.CalendarLockState(ctx, tx)
			if err != nil || v != 0 {
				return err
			}
			_, _, err = s.replace(ctx, tx, Default(), "builtin")
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("calendar: seeding the built-in calendar: %w", err)
		}
	}
	c, v, err := s.read(ctx, s.pool)
	if err != nil {
		return nil, 0, err
	}
	s.Live.Set(c, v)
	return c, v, nil
}

// read returns the stored calendar and its version. The version is read
// first: should an import commit in between, the days are newer than the
// version says, and the next check reads them again.
func (s *Store) read(ctx context.Context, db dbsqlc.DBTX) (*Calendar, int64, error) {
	v, err := s.q.CalendarVersion(ctx, db)
	if err != nil {
		return nil, 0, fmt.Errorf("calendar: %w", err)
	}
	rows, err := s.q.CalendarDays(ctx, db)
	if err != nil {
		return nil, 0, fmt.Errorf("calendar: %w", err)
	}
	days := make([]Day, 0, len(rows))
	for _, r := range rows {
		days = append(days, Day{Date: r.Day, Work: r.Kind == "work", Name: r.Name})
	}
	return build(days), v, nil
}

// InForce returns the calendar in force as db sees it, with its version:
// Live's when the database holds the same version, else the stored one
// (which Live then takes). Deadline computations inside a transaction use
// it, so a calendar imported a moment ago counts even before this
// server's watcher has noticed.
func (s *Store) InForce(ctx context.Context, db dbsqlc.DBTX) (*Calendar, int64, error) {
	v, err := s.q.CalendarVersion(ctx, db)
	if err != nil {
		return nil, 0, fmt.Errorf("calendar: %w", err)
	}
	if v == s.Live.Version() {
		return s.Live.Current(), v, nil
	}
	c, v, err := s.read(ctx, db)
	if err != nil {
		return nil, 0, err
	}
	s.Live.Set(c, v)
	return c, v, nil
}

// Version returns the stored calendar's version as db sees it.
func (s *Store) Version(ctx context.Context, db dbsqlc.DBTX) (int64, error) {
	return s.q.CalendarVersion(ctx, db)
}

// Years lists the years loaded, with when and from what.
func (s *Store) Years(ctx context.Context) ([]YearInfo, error) {
	rows, err := s.q.CalendarYears(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]YearInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, YearInfo{Year: int(r.Year), ImportedAt: r.ImportedAt, Source: r.Source})
	}
	return out, nil
}

// Source names a calendar file in the database: its SHA-256.
func Source(file []byte) string {
	h := sha256.Sum256(file)
	return hex.EncodeToString(h[:])
}

// ReplaceTx stores next inside the caller's transaction: every year next
// covers is replaced by next's days for it, other years stay. The result
// must still cover its years without a gap. It bumps the version and
// notifies NotifyChannel (delivered when tx commits), and returns the
// calendar now stored and its version. Concurrent imports are serialised.
func (s *Store) ReplaceTx(ctx context.Context, tx pgx.Tx, next *Calendar, source string) (*Calendar, int64, error) {
	if _, err := s.q.CalendarLockState(ctx, tx); err != nil {
		return nil, 0, fmt.Errorf("calendar: %w", err)
	}
	return s.replace(ctx, tx, next, source)
}

func (s *Store) replace(ctx context.Context, tx pgx.Tx, next *Calendar, source string) (*Calendar, int64, error) {
	cur, _, err := s.read(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	merged, err := cur.Merge(next)
	if err != nil {
		return nil, 0, err
	}
	var years []int32
	for _, y := range next.Years() {
		years = append(years, int32(y))
	}
	if err := s.q.CalendarDeleteYears(ctx, tx, years); err != nil {
		return nil, 0, err
	}
	for _, y := range years {
		if err := s.q.CalendarInsertYear(ctx, tx, y, source); err != nil {
			return nil, 0, err
		}
	}
	var dates, kinds, names []string
	for _, d := range next.Days() {
		kind := "off"
		if d.Work {
			kind = "work"
		}
		dates, kinds, names = append(dates, d.Date.Format("2006-01-02")), append(kinds, kind), append(names, d.Name)
	}
	if err := s.q.CalendarInsertDays(ctx, tx, dates, kinds, names); err != nil {
		return nil, 0, err
	}
	v, err := s.q.CalendarBump(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	if err := s.q.CalendarNotify(ctx, tx, fmt.Sprint(v)); err != nil {
		return nil, 0, err
	}
	return merged, v, nil
}

// Watch keeps Live in step with the database until ctx ends: it listens on
// NotifyChannel and, in case a notification is lost, checks the version
// every poll interval anyway. A new calendar is in force here within
// moments of its import.
func (s *Store) Watch(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	for ctx.Err() == nil {
		err := s.listen(ctx, poll)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("calendar watcher reconnecting", "err", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func (s *Store) listen(ctx context.Context, poll time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	for {
		if err := s.refresh(ctx, conn); err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() && !isTimeout(err):
			return err
		case conn.IsClosed():
			return errors.New("calendar watcher: connection closed")
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// refresh installs the stored calendar when its version differs from
// Live's.
func (s *Store) refresh(ctx context.Context, db dbsqlc.DBTX) error {
	v, err := s.q.CalendarVersion(ctx, db)
	if err != nil {
		return err
	}
	if v == s.Live.Version() {
		return nil
	}
	c, v, err := s.read(ctx, db)
	if err != nil {
		return err
	}
	if s.Live.Set(c, v) {
		s.logger.Info("calendar reloaded", "version", v, "years", fmt.Sprint(c.Years()))
	}
	return nil
}
