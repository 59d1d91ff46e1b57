package agreements

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Timestamp states of a sealed document.
const (
	TimestampStamped  = "stamped"
	TimestampAwaiting = "awaiting"
)

func sealInfoParams(id int64, res pdf.Sealed) dbsqlc.DocumentSealInfoParams {
	p := dbsqlc.DocumentSealInfoParams{ID: id, SealSerial: &res.Serial}
	status := TimestampAwaiting
	if !res.AwaitingTimestamp() {
		status = TimestampStamped
		p.TimestampedAt, p.Tsa = &res.Timestamp, &res.TSA
	}
	p.TimestampStatus = &status
	return p
}

// tsPayload is the ledger's note of a seal's timestamp.
func tsPayload(res pdf.Sealed) map[string]any {
	if res.AwaitingTimestamp() {
		return map[string]any{"status": TimestampAwaiting}
	}
	return map[string]any{"status": TimestampStamped, "time": res.Timestamp.UTC().Format(time.RFC3339), "tsa": res.TSA}
}

// TimestampInterval is how often the job looks for documents awaiting
// their timestamp: one is added well within a minute of the TSA answering.
const TimestampInterval = 10 * time.Second

// TimestampArgs is the periodic job that adds document timestamps.
type TimestampArgs struct{}

// Kind names the job in River.
func (TimestampArgs) Kind() string { return "daiban_document_timestamps" }

type timestampWorker struct {
	river.WorkerDefaults[TimestampArgs]
	svc *Service
}

func (w *timestampWorker) Work(ctx context.Context, _ *river.Job[TimestampArgs]) error {
	_, err := w.svc.CompleteTimestamps(ctx)
	return err
}

func (w *timestampWorker) Timeout(*river.Job[TimestampArgs]) time.Duration { return time.Minute }

// TimestampJobs registers the worker in workers and returns the periodic
// job (every interval; TimestampInterval when 0). The job is unique per
// interval and not retried: the next run follows.
func (s *Service) TimestampJobs(workers *river.Workers, interval time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = TimestampInterval
	}
	river.AddWorker(workers, &timestampWorker{svc: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return TimestampArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		},
		&river.PeriodicJobOpts{ID: "document_timestamps", RunOnStart: true},
	)}
}

// CompleteTimestamps adds a document timestamp to every sealed document
// awaiting one, each in its own transaction with its ledger entry. It
// stops at the first TSA failure (the service is still away) and returns
// how many it completed.
func (s *Service) CompleteTimestamps(ctx context.Context) (int, error) {
	ids, err := s.q.DocumentsAwaitingTimestamp(ctx, s.pool)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.completeTimestamp(ctx, tx, id) })
		if errors.Is(err, errTSAAway) {
			slog.Warn("时间戳服务仍无应答，稍后重试补加文档时间戳", "document", id, "tsa", s.sealer.TSAName())
			return n, nil
		} else if errors.Is(err, pgx.ErrNoRows) {
			continue // another server took it
		} else if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

var errTSAAway = errors.New("tsa away")

func (s *Service) completeTimestamp(ctx context.Context, tx pgx.Tx, id int64) error {
	d, err := s.q.DocumentGetAwaitingForUpdate(ctx, tx, id)
	if err != nil {
		return err
	}
	out, at, err := s.sealer.AddDocTimestamp(ctx, d.Pdf)
	if err != nil {
		return fmt.Errorf("%w: %v", errTSAAway, err)
	}
	c, err := s.q.CaseGet(ctx, tx, d.CaseID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(out)
	tsa := s.sealer.TSAName()
	_, err = ledger.Append(ctx, tx, ledger.Meta{Actor: "system", CaseID: c.ID, Region: c.Region, Type: "document.timestamped"},
		map[string]any{"number": c.Number, "document_id": d.ID, "kind": d.Kind, "sealed_sha256": hex.EncodeToString(d.Sha256),
			"sha256": hex.EncodeToString(sum[:]), "timestamp": at.UTC().Format(time.RFC3339), "tsa": tsa})
	if err != nil {
		return err
	}
	return s.q.DocumentStamp(ctx, tx, dbsqlc.DocumentStampParams{Pdf: out, StampedSha256: sum[:], TimestampedAt: &at, Tsa: &tsa, ID: d.ID})
}
