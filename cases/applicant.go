package cases

import (
	"context"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// ApplicantEvent is a change to a case that the applicant (or the 12345
// platform that sent the case) may be told about. The case service hands
// every such change to its Notifier inside the change's transaction.
type ApplicantEvent struct {
	CaseID  int64
	Version int    // the case's version after the change
	Action  string // "create", an action of the machine, an event, or "rectified"
	From    State
	To      State
	// Due and PrevDue are the case's due date after and before the change
	// (YYYY-MM-DD, "" for none).
	Due, PrevDue string
	// DueProvisional: Due lies past the imported holiday calendar (暂定).
	DueProvisional bool
	// Note is the action's note (a reply, a result, a rectification).
	Note string
	// Rating is an evaluation's score (1–5), 0 otherwise.
	Rating int
	// OptOut, at intake: the applicant wants no texts.
	OptOut bool
}

// Notifier writes the outbox rows of an event through db, which is the
// change's transaction, or the write batch of an action: it must only
// issue statements that need no answer (package cases/notify).
type Notifier func(ctx context.Context, db dbsqlc.DBTX, ev ApplicantEvent) error

// tell hands ev to the notifier, if there is one.
func (s *Service) tell(ctx context.Context, db dbsqlc.DBTX, ev ApplicantEvent) error {
	if s.notify == nil {
		return nil
	}
	return s.notify(ctx, db, ev)
}

// tellAfter queues the event of an action on ch, to be written with the
// action's own writes.
func (s *Service) tellAfter(ctx context.Context, ch *change, cur Case, action string, to State) {
	if s.notify == nil {
		return
	}
	ev := ApplicantEvent{CaseID: cur.ID, Version: cur.Version + 1, Action: action, From: cur.State, To: to, PrevDue: cur.DueDate}
	ev.Note, _ = ch.ledger["note"].(string)
	if r, ok := ch.ledger["rating"].(int); ok {
		ev.Rating = r
	}
	ch.after = append(ch.after, func(db dbsqlc.DBTX) error {
		if ch.row.DueDate != nil {
			ev.Due = ch.row.DueDate.Format("2006-01-02")
			ev.DueProvisional = Provisional(s.Calendar(), ev.Due)
		}
		return s.notify(ctx, db, ev)
	})
}
