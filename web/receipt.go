package web

import (
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/policies/httpapi"
)

// receiptPath is the printable receipt of a case, the one link besides
// documents and signing links a message after a post may carry.
var receiptPath = regexp.MustCompile(`^/cases/[0-9]+/receipt$`)

// receiptData is what the printable intake receipt shows.
type receiptData struct {
	agreements.IntakeReceipt
	CaseID int64
	// Notice says the receipt is no proof of completion.
	Notice string
	// A5 prints on A5 paper (?paper=a5) instead of A4.
	A5 bool
}

// intakeReceiptPage is the intake receipt (受理回执) as a page to print
// and hand to the applicant. Everyone who may read the case may print it;
// printing is not a case event.
func (p *Pages) intakeReceiptPage(c echo.Context) error {
	r, err := p.Documents.IntakeReceipt(c.Request().Context(), caseID(c))
	if err != nil {
		return err
	}
	d := receiptData{IntakeReceipt: r, CaseID: caseID(c), Notice: pdf.IntakeNotice, A5: c.QueryParam("paper") == "a5"}
	return p.Render(c, http.StatusOK, "receipt", view{Title: "受理回执 " + r.CaseNumber, Data: d})
}

// intakeReceiptPDF is the same receipt as a PDF. It holds the applicant's
// name: never stored by the browser or a proxy.
func (p *Pages) intakeReceiptPDF(c echo.Context) error {
	ctx := c.Request().Context()
	r, err := p.Documents.IntakeReceipt(ctx, caseID(c))
	if err != nil {
		return err
	}
	b, err := p.Documents.IntakeReceiptPDF(ctx, r)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", httpapi.ContentDisposition("inline", "receipt-"+r.CaseNumber+".pdf", "受理回执-"+r.CaseNumber+".pdf"))
	return c.Blob(http.StatusOK, "application/pdf", b)
}
