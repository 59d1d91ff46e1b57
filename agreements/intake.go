package agreements

import (
	"context"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
)

// IntakeReceipt is a case's intake receipt (受理回执), for its printable
// page and its PDF alike. Printing it is not a case event: it is made
// from the case as it stands, is not sealed, stored or entered in the
// ledger, and may be printed again at any time.
type IntakeReceipt struct {
	pdf.IntakeData
	// Center is the issuing center: its name, and where to ask.
	Center pdf.Center
	// TrackURL is the applicant's tracking page (the QR code's address).
	TrackURL string
	// Limit is the sentence on the promised limit.
	Limit string
}

// IntakeReceipt gathers the receipt of a case: the applicant's full name
// (the paper is handed to the applicant) with the ID number masked, the
// matters and their departments, the materials the center has received
// so far, the promised limit and the tracking code.
func (s *Service) IntakeReceipt(ctx context.Context, caseID int64) (_ IntakeReceipt, err error) {
	defer daiban.Wrap(&err, "agreements: intake receipt of case %d", caseID)
	c, err := s.cases.Get(ctx, caseID)
	if err != nil {
		return IntakeReceipt{}, err
	}
	d := pdf.IntakeData{
		CaseNumber: c.Number, Title: c.Title, ApplicantName: c.Applicant.Name, IDNumber: cases.MaskID(c.Applicant.IDNumber),
		Channel: c.Channel.Name(), AgentName: c.CreatedBy, RegisteredAt: c.CreatedAt, LimitDays: c.LimitDays, DueDate: c.DueDate,
		DueProvisional: c.DueProvisional, TrackingCode: c.TrackingCode, Materials: receivedMaterials(c.Materials),
	}
	// A case opened by a partner (the hotline) has no staff user behind it.
	if u, err := s.users.Get(ctx, c.CreatedBy); err == nil {
		d.AgentName = u.Name
	}
	for _, code := range c.Matters {
		m, err := s.catalog.Get(ctx, code)
		if err != nil {
			return IntakeReceipt{}, err
		}
		d.Matters = append(d.Matters, pdf.IntakeMatter{Name: m.Name, Department: m.Department})
	}
	return IntakeReceipt{IntakeData: d, Center: s.center, TrackURL: s.center.BaseURL + "/track/" + c.TrackingCode,
		Limit: pdf.IntakeLimit(c.LimitDays, c.DueDate, c.DueProvisional)}, nil
}

// IntakeReceiptPDF renders the receipt as a PDF under the renderer's
// bound.
func (s *Service) IntakeReceiptPDF(ctx context.Context, r IntakeReceipt) (_ []byte, err error) {
	defer daiban.Wrap(&err, "agreements: intake receipt PDF of case %s", r.CaseNumber)
	return s.render.IntakeReceiptCtx(ctx, r.IntakeData)
}

// receivedMaterials are the materials the center holds or has checked:
// those the review recorded as received, and originals an agent took
// from the applicant before the review (custody).
func receivedMaterials(ms []cases.Material) []pdf.IntakeMaterial {
	var out []pdf.IntakeMaterial
	for _, m := range ms {
		switch {
		case m.Received:
			out = append(out, pdf.IntakeMaterial{Name: m.Name, Original: m.Original, Pages: m.Pages})
		case m.Holder != "" && m.Holder != "applicant":
			out = append(out, pdf.IntakeMaterial{Name: m.Name, Original: true})
		}
	}
	return out
}
