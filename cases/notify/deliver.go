package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/partners/webhook"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Message is one notification on its way out.
type Message struct {
	ID         int64 // the outbox row: the delivery id the receiver dedups on
	Event      string
	CaseNumber string
	// Body is the JSON a webhook receives.
	Body []byte
	// Partner receives it (nil: nobody is set up, the log gets it) and
	// Key signs it.
	Partner *partners.Partner
	Key     []byte
}

// Payload is the JSON body of a delivery.
type Payload struct {
	ID          int64  `json:"id"`
	Event       string `json:"event"`
	EventName   string `json:"event_name"`
	CaseNumber  string `json:"case_number"`
	TrackingURL string `json:"tracking_url"`
	// Text is the applicant's text (under 70 characters).
	Text string `json:"text"`
	// Phone is the applicant's phone, for an SMS gateway; empty in
	// hotline replies.
	Phone string `json:"phone,omitempty"`
	// OrderNo, Kind, State, Result and Rating answer a 12345 work order.
	OrderNo   string `json:"order_no,omitempty"`
	Kind      string `json:"kind,omitempty"`
	State     string `json:"state,omitempty"`
	StateName string `json:"state_name,omitempty"`
	Result    string `json:"result,omitempty"`
	Rating    int    `json:"rating,omitempty"`
	At        string `json:"at"`
}

// Sender delivers a message outside the system.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender is the Sender when no partner is set up: one log line per
// notification, without personal data (no name, no phone, no text with
// a link that opens the case).
type LogSender struct{ Logger *slog.Logger }

// Send implements Sender.
func (l LogSender) Send(_ context.Context, m Message) error {
	l.Logger.Info("applicant notification", "notification", m.ID, "event", m.Event, "case", m.CaseNumber)
	return nil
}

// WebhookSender POSTs the message's JSON to the partner's webhook URL,
// signed with the partner's key (package webhook); any answer but 2xx is
// a failure to be retried.
type WebhookSender struct {
	Client *http.Client
	Now    func() time.Time
}

// Send implements Sender.
func (w WebhookSender) Send(ctx context.Context, m Message) error {
	if m.Partner == nil || m.Partner.WebhookURL == "" {
		return errors.New("notify: no webhook")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Partner.WebhookURL, bytes.NewReader(m.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if m.ID != 0 { // a one-time code is no outbox row: nothing to dedup on
		req.Header.Set(webhook.DeliveryHeader, strconv.FormatInt(m.ID, 10))
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	webhook.SignRequest(req, m.Key, m.Body, now())
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: webhook answered %d", resp.StatusCode)
	}
	return nil
}

// Config configures a Service.
type Config struct {
	Pool     *pgxpool.Pool
	Partners *partners.Store
	PII      *pii.Keys
	Logger   *slog.Logger
	// BaseURL is where the tracking links point.
	BaseURL string
	// Log delivers when no partner is set up (LogSender when nil);
	// Webhook delivers to partners (WebhookSender when nil).
	Log, Webhook Sender
	// Backoff is the wait before attempt n+1 after n failed ones
	// (DefaultBackoff when nil); MaxAttempts ends the retries (10 when 0).
	Backoff     func(attempt int) time.Duration
	MaxAttempts int
	// Interval is how often pending rows are queued (2 s when 0).
	Interval time.Duration
}

// DefaultBackoff waits 10 s, 20 s, 40 s … up to an hour: ten attempts
// span about five hours, enough to ride out a partner's maintenance.
func DefaultBackoff(attempt int) time.Duration {
	d := 10 * time.Second << min(attempt-1, 9)
	return min(d, time.Hour)
}

// Service delivers the outbox.
type Service struct {
	c Config
	q *dbsqlc.Queries
}

// NewService returns a Service.
func NewService(c Config) *Service {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Log == nil {
		c.Log = LogSender{Logger: c.Logger}
	}
	if c.Webhook == nil {
		c.Webhook = WebhookSender{}
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Interval <= 0 {
		c.Interval = 2 * time.Second
	}
	return &Service{c: c, q: dbsqlc.New()}
}

// Queue is the River queue of the deliveries: they wait on other systems,
// so they have workers of their own (the runner configures it).
const Queue = "notify"

// DispatchArgs is the periodic job that queues pending notifications.
type DispatchArgs struct{}

// Kind implements river.JobArgs.
func (DispatchArgs) Kind() string { return "daiban_notify_dispatch" }

// DeliverArgs delivers one round of one notification.
type DeliverArgs struct {
	ID    int64 `json:"id"`
	Round int32 `json:"round"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "daiban_notify_deliver" }

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

func (w *dispatchWorker) Work(ctx context.Context, _ *river.Job[DispatchArgs]) error {
	_, err := w.s.Dispatch(ctx)
	return err
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

func (w *deliverWorker) Work(ctx context.Context, j *river.Job[DeliverArgs]) error {
	return w.s.deliver(ctx, j.Args, j.Attempt >= j.MaxAttempts)
}

func (w *deliverWorker) NextRetry(j *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.s.c.Backoff(j.Attempt))
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return time.Minute }

// Jobs registers the workers and returns the periodic dispatch job.
func (s *Service) Jobs(workers *river.Workers) []*river.PeriodicJob {
	river.AddWorker(workers, &dispatchWorker{s: s})
	river.AddWorker(workers, &deliverWorker{s: s})
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(s.c.Interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return DispatchArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: max(s.c.Interval, time.Second)}}
		},
		&river.PeriodicJobOpts{ID: "notify_dispatch", RunOnStart: true},
	)}
}

// Dispatch queues a delivery job for every pending notification whose
// round has none yet, in one transaction with the marks, and returns how
// many it queued.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	err = pgx.BeginFunc(ctx, s.c.Pool, func(tx pgx.Tx) error {
		rows, err := s.q.NotificationsToQueue(ctx, tx)
		if err != nil || len(rows) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, 0, len(rows))
		for _, r := range rows {
			params = append(params, river.InsertManyParams{Args: DeliverArgs{ID: r.ID, Round: r.Round},
				InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: s.c.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}})
			if err := s.q.NotificationQueued(ctx, tx, r.Round, r.ID); err != nil {
				return err
			}
		}
		if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
			return err
		}
		n = len(rows)
		return nil
	})
	return n, err
}

// deliver sends one notification. The row stays locked while it is sent,
// so two runs of the job never send it side by side; the second finds it
// delivered and stops.
func (s *Service) deliver(ctx context.Context, a DeliverArgs, last bool) error {
	var sendErr error
	err := pgx.BeginFunc(ctx, s.c.Pool, func(tx pgx.Tx) error {
		row, err := s.q.NotificationForDelivery(ctx, tx, a.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the case was erased
		} else if err != nil {
			return err
		}
		if row.Status != "pending" || row.Round != a.Round {
			return nil
		}
		m, sender, err := s.message(ctx, tx, row)
		if err != nil {
			return err
		}
		now := time.Now()
		if sender == nil {
			return s.q.NotificationSkipped(ctx, tx, &now, row.ID)
		}
		var via *int64
		if m.Partner != nil {
			via = &m.Partner.ID
		}
		if sendErr = sender.Send(ctx, m); sendErr != nil {
			msg := sendErr.Error()
			if len(msg) > 300 {
				msg = msg[:300]
			}
			partner := ""
			if m.Partner != nil {
				partner = m.Partner.Name
			}
			s.c.Logger.WarnContext(ctx, "applicant notification not delivered", "notification", row.ID, "event", row.Event,
				"partner", partner, "attempt", row.Attempts+1, "dead_letter", last, "error", msg)
			return s.q.NotificationFailed(ctx, tx, dbsqlc.NotificationFailedParams{At: &now, LastError: msg, Dead: last, SentVia: via, ID: row.ID})
		}
		if err := s.q.NotificationDeliveryInsert(ctx, tx, row.ID, via, now); err != nil {
			return err
		}
		if err := s.q.NotificationDelivered(ctx, tx, &now, via, row.ID); err != nil {
			return err
		}
		if m.Partner == nil {
			return nil
		}
		return s.c.Partners.Record(ctx, tx, *m.Partner, "partner.delivered", map[string]any{
			"notification": row.ID, "event": row.Event, "case_number": row.Number})
	})
	if err != nil {
		return err
	}
	if sendErr != nil && !last {
		return sendErr // River tries again after the backoff
	}
	return nil
}

// message builds the message of a row and picks its sender: nil when
// nobody is to get it (its hotline partner was revoked).
func (s *Service) message(ctx context.Context, tx pgx.Tx, row dbsqlc.NotificationForDeliveryRow) (Message, Sender, error) {
	var data struct {
		Detail    string `json:"detail"`
		OrderNo   string `json:"order_no"`
		Kind      string `json:"kind"`
		State     string `json:"state"`
		StateName string `json:"state_name"`
		Result    string `json:"result"`
		Rating    int    `json:"rating"`
	}
	if err := json.Unmarshal(row.Data, &data); err != nil {
		return Message{}, nil, err
	}
	link := s.c.BaseURL + "/track/" + row.TrackingCode
	p := Payload{ID: row.ID, Event: row.Event, EventName: EventNames[row.Event], CaseNumber: row.Number, TrackingURL: link,
		Text: Text(row.Event, data.Detail, link), OrderNo: data.OrderNo, Kind: data.Kind, State: data.State, StateName: data.StateName,
		Result: data.Result, Rating: data.Rating, At: row.CreatedAt.UTC().Format(time.RFC3339)}
	m := Message{ID: row.ID, Event: row.Event, CaseNumber: row.Number}
	var target []partners.Partner
	if row.PartnerID != nil { // a hotline reply
		p.Text = hotlineText(p)
		pt, _, err := s.c.Partners.Secret(ctx, tx, *row.PartnerID)
		if err != nil {
			return Message{}, nil, err
		}
		if pt.RevokedAt != nil || pt.WebhookURL == "" {
			return m, nil, nil
		}
		target = []partners.Partner{pt}
	} else {
		var err error
		if target, err = s.applicantPartners(ctx, tx); err != nil {
			return Message{}, nil, err
		}
		if len(target) > 0 && row.ApplicantPhoneEnc != nil {
			if p.Phone, err = s.c.PII.OpenString(pii.CasePhone, row.Number, row.ApplicantPhoneEnc); err != nil {
				return Message{}, nil, err
			}
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return Message{}, nil, err
	}
	m.Body = body
	if len(target) == 0 {
		return m, s.c.Log, nil
	}
	_, key, err := s.c.Partners.Secret(ctx, tx, target[0].ID)
	if err != nil {
		return Message{}, nil, err
	}
	m.Partner, m.Key = &target[0], key
	return m, s.c.Webhook, nil
}

// applicantPartners are the partners that carry applicant texts: the SMS
// gateways, else the platforms (a WeChat template service).
func (s *Service) applicantPartners(ctx context.Context, tx dbsqlc.DBTX) ([]partners.Partner, error) {
	for _, k := range []partners.Kind{partners.SMS, partners.Platform} {
		ps, err := s.c.Partners.Active(ctx, tx, k)
		if err != nil || len(ps) > 0 {
			return ps, err
		}
	}
	return nil, nil
}

func hotlineText(p Payload) string {
	if p.Event == HotlineVisit {
		return fmt.Sprintf("回访结果：申请人评价 %d 分（满分 5 分）。", p.Rating)
	}
	if p.Result != "" {
		return "办理结果：" + p.Result
	}
	return "办理结果：" + p.StateName
}

// DeadLetter is a notification out of attempts.
type DeadLetter struct {
	ID          int64      `json:"id"`
	CaseID      int64      `json:"case_id"`
	CaseNumber  string     `json:"case_number"`
	Event       string     `json:"event"`
	EventName   string     `json:"event_name"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
}

// Dead lists the dead letters, newest first.
func (s *Service) Dead(ctx context.Context) (_ []DeadLetter, err error) {
	defer daiban.Wrap(&err, "notify: dead letters")
	rows, err := s.q.NotificationsDead(ctx, s.c.Pool)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(rows))
	for _, r := range rows {
		out = append(out, DeadLetter{ID: r.ID, CaseID: r.CaseID, CaseNumber: r.Number, Event: r.Event, EventName: EventNames[r.Event],
			Attempts: int(r.Attempts), LastError: r.LastError, LastAttempt: r.LastAttemptAt})
	}
	return out, nil
}

// Resend sends a dead letter again (a new round of attempts), recorded in
// the ledger as the administrator's act.
func (s *Service) Resend(ctx context.Context, actor string, id int64, record func(ctx context.Context, db dbsqlc.DBTX, actor string, payload map[string]any) error) (err error) {
	defer daiban.Wrap(&err, "notify: resend %d", id)
	return pgx.BeginFunc(ctx, s.c.Pool, func(tx pgx.Tx) error {
		if _, err := s.q.NotificationResend(ctx, tx, id); errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.q.NotificationStatus(ctx, tx, id); err != nil {
				return daiban.NoRows(err, "没有这条通知")
			}
			return daiban.Errorf(daiban.EINVALIDTRANSITION, "这条通知不是投递失败的通知（已送达、在投递中或已重发），无需重发")
		} else if err != nil {
			return err
		}
		return record(ctx, tx, actor, map[string]any{"notification": id})
	})
}

// Status is a notification of a case as the tests and pages see it.
type Status struct {
	ID       int64
	Event    string
	Key      string
	Status   string
	Attempts int
}

// OfCase lists a case's notifications in the order they were written.
func (s *Service) OfCase(ctx context.Context, caseID int64) ([]Status, error) {
	rows, err := s.q.NotificationsOfCase(ctx, s.c.Pool, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(rows))
	for _, r := range rows {
		out = append(out, Status{ID: r.ID, Event: r.Event, Key: r.EventKey, Status: r.Status, Attempts: int(r.Attempts)})
	}
	return out, nil
}
