package appointments

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Opening is an administrator's opening of slots: every working day from
// From to To (inclusive) at one township, with a capacity per half day.
type Opening struct {
	Region string `json:"region"`
	From   string `json:"from"`
	To     string `json:"to"`
	AM     int    `json:"am"`
	PM     int    `json:"pm"`
}

// Opened is what an opening did: the slots open now, and the days skipped
// as not working days (weekends, holidays of the calendar).
type Opened struct {
	Slots   []Slot   `json:"slots"`
	Skipped []string `json:"skipped"`
}

func (o Opening) days(now time.Time) (from, to time.Time, err error) {
	from, err1 := time.Parse(time.DateOnly, strings.TrimSpace(o.From))
	to, err2 := time.Parse(time.DateOnly, strings.TrimSpace(o.To))
	switch {
	case err1 != nil:
		return from, to, daiban.Invalid("from", "开始日期格式应为 YYYY-MM-DD")
	case err2 != nil:
		return from, to, daiban.Invalid("to", "结束日期格式应为 YYYY-MM-DD")
	case to.Before(from):
		return from, to, daiban.Invalid("to", "结束日期早于开始日期")
	case from.Before(day(now)):
		return from, to, daiban.Invalid("from", "不能为已过去的日期开放预约")
	case to.After(day(now).Add(Horizon)):
		return from, to, daiban.Invalid("to", "最多提前 62 天开放预约")
	case o.AM < 0 || o.AM > 500 || o.PM < 0 || o.PM > 500:
		return from, to, daiban.Invalid("am", "每个半天的名额应为 0 至 500（0 表示不开放）")
	}
	return from, to, nil
}

// Open opens (or re-sizes) slots; a capacity is never set below the
// places already booked. Non-working days are skipped. One ledger entry.
func (s *Service) Open(ctx context.Context, actor string, o Opening) (_ Opened, err error) {
	defer daiban.Wrap(&err, "appointments: open slots at %s", o.Region)
	from, to, err := o.days(s.Now())
	if err != nil {
		return Opened{}, err
	}
	out := Opened{Slots: []Slot{}, Skipped: []string{}}
	cal := s.Calendar()
	for _, d := range []time.Time{from, to} {
		if !cal.Covers(d) { // its holidays are unknown: no day of it may be offered
			return Opened{}, daiban.Invalid("to", "%d 年的节假日安排尚未导入，不能开放该年的预约时段。请先导入国务院办公厅公布的安排（daiban calendar import）", d.Year())
		}
	}
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := s.township(ctx, tx, o.Region); err != nil {
			return err
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			if !cal.IsWorkday(d) {
				out.Skipped = append(out.Skipped, d.Format(time.DateOnly))
				continue
			}
			for _, hc := range []struct {
				h Half
				n int
			}{{AM, o.AM}, {PM, o.PM}} {
				r, err := s.q.SlotOpen(ctx, tx, dbsqlc.SlotOpenParams{Region: o.Region, Day: d, Half: string(hc.h), Capacity: int32(hc.n), OpenedBy: actor, OpenedAt: s.Now()})
				if err != nil {
					return err
				}
				out.Slots = append(out.Slots, slotOf(r))
			}
		}
		return ledger.Record(ctx, tx, ledger.Meta{Actor: actor, Region: o.Region, Type: "appointment.slots_opened"},
			map[string]any{"from": o.From, "to": o.To, "am": o.AM, "pm": o.PM, "days": len(out.Slots) / 2, "skipped": out.Skipped})
	})
	return out, err
}

// SlotsInScope lists the slots from today on in regions under prefix,
// for the administrator's page.
func (s *Service) SlotsInScope(ctx context.Context, prefix string) ([]Slot, error) {
	today := day(s.Now())
	rows, err := s.q.SlotsInScope(ctx, s.Pool, prefix, today, today.Add(Horizon))
	if err != nil {
		return nil, err
	}
	out := make([]Slot, 0, len(rows))
	for _, r := range rows {
		out = append(out, slotOf(r))
	}
	return out, nil
}

// Appointment is a booking as staff and the applicant see it: the phone
// masked, always (the counter reads it in full only on the case).
type Appointment struct {
	ID          int64  `json:"id"`
	Code        string `json:"code"`
	Region      string `json:"region"`
	Day         string `json:"day"`
	Half        Half   `json:"half"`
	Label       string `json:"slot_label"`
	Matter      string `json:"matter"`
	MatterName  string `json:"matter_name,omitempty"`
	Name        string `json:"name"`
	PhoneMasked string `json:"phone"`
	Status      string `json:"status"`
	StatusName  string `json:"status_name"`
	CaseID      int64  `json:"case_id,omitempty"`
}

func (s *Service) view(r dbsqlc.Appointment) Appointment {
	a := Appointment{ID: r.ID, Code: r.Code, Region: r.Region, Day: r.Day.Format(time.DateOnly), Half: Half(r.Half), Name: r.Name,
		PhoneMasked: "*******" + r.PhoneLast4, Status: r.Status, StatusName: StatusNames[r.Status]}
	a.Label = slotOf(dbsqlc.AppointmentSlot{Day: r.Day, Half: r.Half}).Label
	if r.MatterCode != nil {
		a.Matter = *r.MatterCode
	} else if r.ChainCode != nil {
		a.Matter = *r.ChainCode
	}
	if r.CaseID != nil {
		a.CaseID = *r.CaseID
	}
	if phone, err := s.Keys.OpenString(pii.AppointmentPhone, r.Code, r.PhoneEnc); err == nil {
		a.PhoneMasked = cases.MaskPhone(phone)
	}
	return a
}

// Get returns a booking by its code (not_found otherwise), as the public
// sees it: the name masked as on /track.
func (s *Service) Get(ctx context.Context, code string) (Appointment, error) {
	r, err := s.q.AppointmentByCode(ctx, s.Pool, normalize(code))
	if err != nil {
		return Appointment{}, daiban.NoRows(err, "预约码不存在")
	}
	return s.view(r).Public(), nil
}

// Public is the booking as a page reached by its code shows it: the name
// masked (the phone always is).
func (a Appointment) Public() Appointment {
	a.Name = cases.MaskName(a.Name)
	return a
}

func normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// change runs fn on a booking locked for update, and records the event.
func (s *Service) change(ctx context.Context, code, actor, event string, fn func(tx pgx.Tx, r *dbsqlc.Appointment) error) (Appointment, error) {
	var out Appointment
	var keep error // a refusal that must still commit (a counted wrong try)
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		r, err := s.q.AppointmentByCodeForUpdate(ctx, tx, normalize(code))
		if err != nil {
			return daiban.NoRows(err, "预约码不存在")
		}
		if err := fn(tx, &r); err != nil {
			var counted *countedError
			if !errors.As(err, &counted) {
				return err
			}
			keep = counted.err
		}
		r.UpdatedAt = s.Now()
		if err := s.q.AppointmentSetStatus(ctx, tx, dbsqlc.AppointmentSetStatusParams{Status: r.Status, ConfirmedVia: r.ConfirmedVia, OtpHash: r.OtpHash,
			OtpTries: r.OtpTries, CaseID: r.CaseID, UpdatedAt: r.UpdatedAt, ID: r.ID}); err != nil {
			return err
		}
		out = s.view(r)
		if keep != nil {
			return nil
		}
		var caseID int64
		if r.CaseID != nil {
			caseID = *r.CaseID
		}
		return s.record(ctx, tx, actor, r, event, caseID)
	})
	if err == nil {
		err = keep
	}
	return out, err
}

// countedError is a refusal whose side effect (a counted try) commits.
type countedError struct{ err error }

func (e *countedError) Error() string { return e.err.Error() }

// Confirm confirms a booking with the one-time code sent to the phone.
// Five wrong codes void the code; the counter can still confirm.
func (s *Service) Confirm(ctx context.Context, code, otp string) (Appointment, error) {
	otp = strings.TrimSpace(otp)
	return s.change(ctx, code, "applicant", "confirmed", func(_ pgx.Tx, r *dbsqlc.Appointment) error {
		switch {
		case r.Status == Confirmed || r.Status == Arrived:
			return daiban.Errorf(daiban.EINVALIDTRANSITION, "该预约已确认")
		case r.Status != Booked:
			return daiban.Errorf(daiban.EINVALIDTRANSITION, "该预约已取消")
		case r.OtpHash == nil:
			return daiban.Invalid("otp", "确认码已失效，请到窗口确认")
		case !cases.CodeMatches(r.OtpHash, "appointment", r.Code, otp):
			r.OtpTries++
			if r.OtpTries >= cases.MaxCodeTries {
				r.OtpHash = nil
				return &countedError{daiban.Invalid("otp", "确认码连续错误 %d 次，已失效，请到窗口确认", cases.MaxCodeTries)}
			}
			return &countedError{daiban.Invalid("otp", "确认码不正确，还可尝试 %d 次", cases.MaxCodeTries-int(r.OtpTries))}
		}
		r.Status, r.ConfirmedVia, r.OtpHash = Confirmed, "code", nil
		return nil
	})
}

// Cancel cancels a booking by its code and frees its place.
func (s *Service) Cancel(ctx context.Context, code string) (Appointment, error) {
	return s.change(ctx, code, "applicant", "cancelled", func(tx pgx.Tx, r *dbsqlc.Appointment) error {
		if r.Status != Booked && r.Status != Confirmed {
			return daiban.Errorf(daiban.EINVALIDTRANSITION, "该预约%s，不能取消", StatusNames[r.Status])
		}
		r.Status, r.OtpHash = Cancelled, nil
		return s.q.SlotRelease(ctx, tx, r.SlotID)
	})
}

// record appends a booking event to the ledger: ids and status only, no
// name or phone.
func (s *Service) record(ctx context.Context, tx pgx.Tx, actor string, r dbsqlc.Appointment, event string, caseID int64) error {
	p := map[string]any{"appointment_id": r.ID, "status": r.Status}
	if caseID != 0 {
		p["case_id"] = caseID
	}
	return ledger.Record(ctx, tx, ledger.Meta{Actor: actor, Region: r.Region, Type: "appointment." + event}, p)
}
