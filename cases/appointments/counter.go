package appointments

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// On lists the day's live bookings (booked, confirmed, arrived) in
// regions under prefix, for the agents' desk.
func (s *Service) On(ctx context.Context, prefix string, d time.Time) ([]Appointment, error) {
	rows, err := s.q.AppointmentsOn(ctx, s.Pool, prefix, day(d))
	if err != nil {
		return nil, err
	}
	idx, err := s.Catalog.GuideIndex(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, e := range idx {
		names[e.Code] = e.Name
	}
	out := make([]Appointment, 0, len(rows))
	for _, r := range rows {
		a := s.view(r)
		a.MatterName = names[a.Matter]
		out = append(out, a)
	}
	return out, nil
}

// Today lists today's live bookings under prefix.
func (s *Service) Today(ctx context.Context, prefix string) ([]Appointment, error) {
	return s.On(ctx, prefix, s.Now())
}

// Details are what a booking fills in on the intake form: the phone in
// full, for the agent at the counter only.
type Details struct {
	Appointment
	Phone string
}

// Details opens a booking for the counter.
func (s *Service) Details(ctx context.Context, code string) (Details, error) {
	r, err := s.q.AppointmentByCode(ctx, s.Pool, normalize(code))
	if err != nil {
		return Details{}, daiban.NoRows(err, "预约码不存在")
	}
	phone, err := s.Keys.OpenString(pii.AppointmentPhone, r.Code, r.PhoneEnc)
	if err != nil {
		return Details{}, err
	}
	return Details{Appointment: s.view(r), Phone: phone}, nil
}

// ConfirmAtCounter confirms a booking for an applicant at the counter.
func (s *Service) ConfirmAtCounter(ctx context.Context, actor, code string) (Appointment, error) {
	return s.change(ctx, code, actor, "confirmed", func(_ pgx.Tx, r *dbsqlc.Appointment) error {
		if r.Status != Booked {
			return daiban.Errorf(daiban.EINVALIDTRANSITION, "该预约%s", StatusNames[r.Status])
		}
		r.Status, r.ConfirmedVia, r.OtpHash = Confirmed, "counter", nil
		return nil
	})
}

// ArrivedTx marks a booking arrived and turned into a case, inside the
// transaction that opened the case.
func (s *Service) ArrivedTx(ctx context.Context, tx pgx.Tx, actor, code string, caseID int64) error {
	r, err := s.q.AppointmentByCodeForUpdate(ctx, tx, normalize(code))
	if err != nil {
		return daiban.NoRows(err, "预约码不存在")
	}
	if r.Status != Booked && r.Status != Confirmed {
		return daiban.Invalid("appointment", "该预约%s，不能再转为案件", StatusNames[r.Status])
	}
	if r.ConfirmedVia == "" {
		r.ConfirmedVia = "counter"
	}
	err = s.q.AppointmentSetStatus(ctx, tx, dbsqlc.AppointmentSetStatusParams{Status: Arrived, ConfirmedVia: r.ConfirmedVia,
		OtpTries: r.OtpTries, CaseID: &caseID, UpdatedAt: s.Now(), ID: r.ID})
	if err != nil {
		return err
	}
	r.Status = Arrived
	return s.record(ctx, tx, actor, r, "arrived", caseID)
}

// NewCase is the case a booking becomes: its name, phone, matter and
// township, with what the agent adds at the counter (the applicant's kind
// and ID number, which a booking never asks for).
func (d Details) NewCase(kind, idNumber, region, summary string) cases.NewCase {
	if region == "" {
		region = d.Region
	}
	if summary == "" {
		summary = "网上预约（预约码 " + d.Code + "）"
	}
	return cases.NewCase{Region: region, Channel: cases.Online, Matter: d.Matter, Summary: summary,
		Applicant: cases.Applicant{Kind: kind, Name: d.Name, IDNumber: idNumber, Phone: d.Phone}}
}

// CaseFrom opens a case from a booking in one step and marks the booking
// arrived, in one transaction.
func (s *Service) CaseFrom(ctx context.Context, a cases.Actor, code string, in cases.NewCase) (c cases.Case, err error) {
	defer daiban.Wrap(&err, "appointments: case from a booking")
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		c, err = s.Cases.Create(ctx, tx, a, in)
		if err != nil {
			return err
		}
		return s.ArrivedTx(ctx, tx, a.Username, code, c.ID)
	})
	return c, err
}

// Reseal seals again, under the current key version, every booking phone
// sealed under another (part of a key rotation); it returns how many.
func Reseal(ctx context.Context, db dbsqlc.DBTX, k *pii.Keys) (int, error) {
	q, prefix, n := dbsqlc.New(), pii.VersionPrefix(k.Current()), 0
	for {
		rows, err := q.AppointmentPhoneStale(ctx, db, prefix)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			phone, err := k.OpenString(pii.AppointmentPhone, r.Code, r.PhoneEnc)
			if err != nil {
				return n, fmt.Errorf("appointments: phone of booking %d: %w", r.ID, err)
			}
			if err := q.AppointmentPhoneReseal(ctx, db, k.SealString(pii.AppointmentPhone, r.Code, phone), r.ID, r.PhoneEnc); err != nil {
				return n, err
			}
			n++
		}
	}
}
