package agreements

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/catalog"
)

// KindApplication is the combined application form of a 一件事 case.
const KindApplication = "application"

// IssueApplication renders and seals the combined application form
// (一表申请) of a 一件事 case: the applicant's details and the shared
// materials once, then every matter with its department, limit and
// materials. Sealed through the one sealing path (seal), so it is a
// ledger entry and verifiable like every other document.
func (s *Service) IssueApplication(ctx context.Context, a cases.Actor, caseID int64) (_ Document, err error) {
	defer daiban.Wrap(&err, "agreements: application form for case %d", caseID)
	var out Document
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, err := s.cases.Load(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if len(c.Matters) < 2 {
			return daiban.Invalid("case", "一表申请只用于“一件事”（多个事项）的案件")
		}
		d, err := s.applicationData(ctx, c)
		if err != nil {
			return err
		}
		doc, err := s.newDocument(ctx, tx, a, c.ID, KindApplication)
		if err != nil {
			return err
		}
		d.IssuedAt, d.VerifyCode = s.Now(), doc.VerifyCode
		docPDF, err := s.render.ApplicationCtx(ctx, d)
		if err != nil {
			return err
		}
		out, err = s.seal(ctx, tx, a.Username, c, doc, docPDF)
		return err
	})
	return out, err
}

func (s *Service) applicationData(ctx context.Context, c cases.Case) (pdf.ApplicationData, error) {
	d := pdf.ApplicationData{CaseNumber: c.Number, Title: c.Title,
		Applicant: pdf.Party{Kind: c.Applicant.Kind, Name: c.Applicant.Name, IDMasked: cases.MaskID(c.Applicant.IDNumber), PhoneMasked: cases.MaskPhone(c.Applicant.Phone)}}
	got := map[string]cases.Material{}
	for _, m := range c.Materials {
		got[m.Code] = m
	}
	var matters []catalog.Matter
	uses := map[string]int{}
	for _, code := range c.Matters {
		m, err := s.catalog.Get(ctx, code)
		if err != nil {
			return d, err
		}
		matters = append(matters, m)
		for _, x := range m.Materials {
			uses[x.Code]++
		}
	}
	row := func(x catalog.Material) pdf.ApplicationMaterial {
		g := got[x.Code]
		return pdf.ApplicationMaterial{Name: x.Name, Original: x.Original, Count: x.Count, Received: g.Received, Pages: g.Pages, Shared: uses[x.Code] > 1}
	}
	seen := map[string]bool{}
	for _, m := range matters {
		am := pdf.ApplicationMatter{Code: m.Code, MatterInfo: pdf.MatterInfo{Name: m.Name, Department: m.Department, Level: catalog.Level(m.Level).Name(), LimitDays: m.LimitDays, Where: m.Where}}
		for _, x := range m.Materials {
			am.Materials = append(am.Materials, row(x))
			if uses[x.Code] > 1 && !seen[x.Code] {
				seen[x.Code] = true
				sh := row(x)
				sh.Shared = false
				d.Shared = append(d.Shared, sh)
			}
		}
		d.Matters = append(d.Matters, am)
	}
	return d, nil
}
