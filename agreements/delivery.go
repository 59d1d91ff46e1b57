package agreements

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Results by post (证照到付): the agent verifies every item as for a
// handover in person, records the carrier, waybill and address, and the
// receipt is drafted; the applicant confirms on the tracking page with a
// one-time code sent to the phone and signs the receipt there, or the
// agent records the carrier's signed proof. Either seals the receipt and
// closes the case as posted.

// Dispatched is what the agent gets back from a posted handover.
type Dispatched struct {
	DocumentID int64  `json:"document_id"`
	Delivery   string `json:"delivery"`
	Carrier    string `json:"carrier"`
	Waybill    string `json:"waybill"`
	CodeSent   bool   `json:"code_sent"`
}

// StartPostedHandover verifies every item, records the dispatch and drafts
// the receipt (its counter link voided: the applicant signs from the
// tracking page), then sends the applicant the one-time code.
func (s *Service) StartPostedHandover(ctx context.Context, a cases.Actor, caseID int64, verified map[int64]bool, p cases.Post) (_ Dispatched, err error) {
	defer daiban.Wrap(&err, "agreements: posted handover of case %d", caseID)
	var out Dispatched
	var otp, phone, tracking string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.cases.VerifyHandoverTx(ctx, tx, a, caseID, verified)
		if err != nil {
			return err
		}
		tracking = c.TrackingCode
		if otp, phone, err = s.cases.DispatchTx(ctx, tx, a, caseID, p); err != nil {
			return err
		}
		if out.DocumentID, _, err = s.draftTx(ctx, tx, a, caseID, KindReceipt, cases.ReadyForHandover); err != nil {
			return err
		}
		now := s.Now()
		return s.q.SignLinksVoidForDocument(ctx, tx, &now, out.DocumentID)
	})
	if err != nil {
		return Dispatched{}, err
	}
	dv, err := s.cases.DeliveryOf(ctx, s.pool, caseID)
	if err != nil {
		return Dispatched{}, err
	}
	out.Delivery, out.Carrier, out.Waybill = string(cases.ByPost), dv.Carrier, dv.Waybill
	// One SMS with the link (the carrier and waybill are on that page).
	text := fmt.Sprintf("【政务帮办】已寄出，签收确认码 %s：%s/track/%s", otp, s.center.BaseURL, tracking)
	if err := s.codes().SendCode(ctx, phone, "delivery", text); err == nil {
		out.CodeSent = true
	}
	return out, nil
}

func (s *Service) codes() cases.CodeSender {
	if s.Codes == nil {
		return cases.LogCodeSender{}
	}
	return s.Codes
}

// DeliverySigningLink checks the applicant's one-time code for the case
// of a tracking code and returns a fresh signing link for the receipt:
// the applicant signs it on the phone (the signing page also asks for the
// last four characters of the ID number, as at the counter).
func (s *Service) DeliverySigningLink(ctx context.Context, trackingCode, code string) (_ string, err error) {
	defer daiban.Wrap(&err, "agreements: delivery confirmation through tracking")
	c, err := s.cases.Track(ctx, trackingCode)
	if err != nil {
		return "", err
	}
	if err := s.cases.CheckDeliveryCode(ctx, c.ID, code); err != nil {
		return "", err
	}
	_, url, err := s.NewSigningLink(ctx, cases.Actor{Username: "applicant"}, c.ID, KindReceipt)
	return url, err
}

// CarrierProof closes a posted case on the carrier's signed proof of
// delivery (a scan or photo of the signed waybill, PNG), entered by the
// agent: the receipt is sealed with the proof on it.
func (s *Service) CarrierProof(ctx context.Context, a cases.Actor, caseID int64, png []byte) (_ Status, err error) {
	defer daiban.Wrap(&err, "agreements: carrier proof for case %d", caseID)
	if err := pdf.CheckSignature(png); err != nil {
		return Status{}, err
	}
	img, err := s.render.Signature(ctx, png)
	if err != nil {
		return Status{}, err
	}
	var st Status
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := s.currentDraft(ctx, tx, caseID, KindReceipt)
		if err != nil {
			return err
		}
		st, err = s.sealPosted(ctx, tx, a, d, img)
		return err
	})
	return st, err
}

func (s *Service) sealPosted(ctx context.Context, tx pgx.Tx, a cases.Actor, d dbsqlc.Document, img []byte) (Status, error) {
	c, err := s.cases.Load(ctx, tx, d.CaseID)
	if err != nil {
		return Status{}, err
	}
	if dv, err := s.cases.DeliveryOf(ctx, tx, c.ID); err != nil || dv.Method != cases.ByPost || dv.DispatchedAt == nil {
		return Status{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "本件的办理结果尚未邮寄，不能录入承运人签收凭证")
	}
	now := s.Now()
	docPDF, err := s.renderReceipt(ctx, c, d, img, true, now)
	if err != nil {
		return Status{}, err
	}
	doc, err := s.seal(ctx, tx, a.Username, c, d, docPDF)
	if err != nil {
		return Status{}, err
	}
	next, err := s.cases.PostedTx(ctx, tx, a, c.ID, "carrier", img, map[string]any{"document_id": d.ID, "sha256": doc.SHA256})
	if err != nil {
		return Status{}, err
	}
	return Status{DocumentID: d.ID, Kind: d.Kind, Sealed: true, Document: &doc, CaseState: string(next.State)}, nil
}
