package cases

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The applicant's ID number and phone are stored sealed (package pii): the
// associated data binds each to its column and to the case number, which
// is unique, never changes and is known before the row is inserted. Rows
// are opened in Go as they are read, so a list stays one query.

// piiBatch is how many rows a conversion or rotation step handles in one
// transaction.
const piiBatch = 500

// sealed is an applicant's numbers as stored.
type sealed struct {
	idEnc, phoneEnc, idIdx, phoneIdx []byte
}

func sealApplicant(k *pii.Keys, number, idNumber, phone string) sealed {
	return sealed{
		idEnc:    k.SealString(pii.CaseIDNumber, number, idNumber),
		phoneEnc: k.SealString(pii.CasePhone, number, phone),
		idIdx:    k.Index(pii.CaseIDNumber, idNumber),
		phoneIdx: k.Index(pii.CasePhone, phone),
	}
}

// openApplicant opens a case's sealed numbers. A row whose numbers are not
// sealed yet (the conversion after the upgrade still running on another
// server) shows none.
func openApplicant(k *pii.Keys, number string, idEnc, phoneEnc []byte) (id, phone string, err error) {
	if idEnc != nil {
		if id, err = k.OpenString(pii.CaseIDNumber, number, idEnc); err != nil {
			return "", "", fmt.Errorf("cases: ID number of case %s: %w", number, err)
		}
	}
	if phoneEnc != nil {
		if phone, err = k.OpenString(pii.CasePhone, number, phoneEnc); err != nil {
			return "", "", fmt.Errorf("cases: phone of case %s: %w", number, err)
		}
	}
	return id, phone, nil
}

// MaskedID opens a sealed ID number of the case numbered number and masks
// it for a list (3703**********1234); one that does not open shows as
// "（无法解密）".
func MaskedID(k *pii.Keys, number string, idEnc []byte) string {
	id, _, err := openApplicant(k, number, idEnc, nil)
	if err != nil {
		return "（无法解密）"
	}
	return MaskID(id)
}

// caseOf is fromRow with the applicant's numbers opened.
func (s *Service) caseOf(r dbsqlc.Case) (Case, error) {
	c := fromRow(r)
	var err error
	c.Applicant.IDNumber, c.Applicant.Phone, err = openApplicant(s.pii, r.Number, r.ApplicantIDNumberEnc, r.ApplicantPhoneEnc)
	return c, err
}

// idemRow names a stored response in its associated data.
func idemRow(user, key string) string { return user + "\x00" + key }

// SealPending seals the numbers migration 00009 set aside in clear, in
// batches of piiBatch, each batch one transaction that also deletes its
// clear copies; servers starting together share the batches. It returns
// how many cases it sealed; once the pending table is empty it costs one
// indexed query.
func SealPending(ctx context.Context, pool *pgxpool.Pool, k *pii.Keys) (int, error) {
	q := dbsqlc.New()
	total := 0
	for {
		n := 0
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			rows, err := q.CasePIIPending(ctx, tx, piiBatch)
			if err != nil || len(rows) == 0 {
				return err
			}
			var p dbsqlc.CasePIISealParams
			for _, r := range rows {
				s := sealApplicant(k, r.Number, r.IDNumber, r.Phone)
				p.Ids = append(p.Ids, r.CaseID)
				p.IDEnc, p.PhoneEnc = append(p.IDEnc, s.idEnc), append(p.PhoneEnc, s.phoneEnc)
				p.IDIdx, p.PhoneIdx = append(p.IDIdx, s.idIdx), append(p.PhoneIdx, s.phoneIdx)
			}
			n = len(rows)
			return q.CasePIISeal(ctx, tx, p)
		})
		if err != nil {
			return total, fmt.Errorf("cases: sealing personal numbers: %w", err)
		}
		total += n
		if n < piiBatch {
			return total, nil
		}
	}
}

// Reseal seals again, under the current key version, every case number
// and stored response sealed under another, and recomputes the cases'
// blind indexes: the second half of a key rotation. Rows written meanwhile
// by servers that already use the new version are left alone; it returns
// how many cases and responses it re-sealed.
func Reseal(ctx context.Context, pool *pgxpool.Pool, k *pii.Keys) (casesDone, responses int, err error) {
	prefix := pii.VersionPrefix(k.Current())
	q := dbsqlc.New()
	for after := int64(0); ; {
		rows, err := q.CasePIIStale(ctx, pool, after, prefix, piiBatch)
		if err != nil {
			return casesDone, responses, err
		}
		if len(rows) == 0 {
			break
		}
		var p dbsqlc.CasePIIResealParams
		for _, r := range rows {
			id, phone, err := openApplicant(k, r.Number, r.ApplicantIDNumberEnc, r.ApplicantPhoneEnc)
			if err != nil {
				return casesDone, responses, err
			}
			s := sealApplicant(k, r.Number, id, phone)
			p.Ids, p.OldIDEnc = append(p.Ids, r.ID), append(p.OldIDEnc, r.ApplicantIDNumberEnc)
			p.IDEnc, p.PhoneEnc = append(p.IDEnc, s.idEnc), append(p.PhoneEnc, s.phoneEnc)
			p.IDIdx, p.PhoneIdx = append(p.IDIdx, s.idIdx), append(p.PhoneIdx, s.phoneIdx)
			after = r.ID
		}
		if err := q.CasePIIReseal(ctx, pool, p); err != nil {
			return casesDone, responses, err
		}
		casesDone += len(rows)
	}
	responses, err = resealResponses(ctx, pool, k, prefix)
	return casesDone, responses, err
}

func resealResponses(ctx context.Context, pool *pgxpool.Pool, k *pii.Keys, prefix []byte) (int, error) {
	q := dbsqlc.New()
	n := 0
	p := dbsqlc.IdempotencyStaleParams{Prefix: prefix, Lim: piiBatch}
	for {
		rows, err := q.IdempotencyStale(ctx, pool, p)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			row := idemRow(r.Username, r.Key)
			body, err := k.Open(pii.IdempotentResponse, row, r.Response)
			if err != nil {
				return n, fmt.Errorf("cases: stored response of %s: %w", r.Username, err)
			}
			if err := q.IdempotencyReseal(ctx, pool, k.Seal(pii.IdempotentResponse, row, body), r.Username, r.Key); err != nil {
				return n, err
			}
			n++
			p.AfterUser, p.AfterKey = r.Username, r.Key
		}
	}
}
