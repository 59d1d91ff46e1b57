package agreements

import (
	"context"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases/catalog"
)

// GuidePDF renders the printable 办事指南 of a matter or chain.
func (s *Service) GuidePDF(ctx context.Context, g catalog.GuideView) (_ []byte, err error) {
	defer daiban.Wrap(&err, "agreements: guide %s", g.Code)
	d := pdf.GuideData{Code: g.Code, Title: g.Name, Chain: g.Kind == "chain", Description: g.Description, Shared: g.SharedMaterials,
		ServiceFee: g.ServiceFee, Complaints: g.Complaints, PrintedAt: s.Now()}
	for _, m := range g.Matters {
		gm := pdf.GuideMatter{Code: m.Code, Conditions: m.Conditions, LegalBasis: m.LegalBasis, Fees: m.Fees, OfficeHours: m.OfficeHours, Phone: m.Phone,
			MatterInfo: pdf.MatterInfo{Name: m.Name, Department: m.Department, Level: catalog.Level(m.Level).Name(), LimitDays: m.LimitDays, Where: m.Where}}
		for _, x := range m.Materials {
			gm.Materials = append(gm.Materials, pdf.MaterialInfo{Name: x.Name, Original: x.Original, Count: x.Count})
			gm.Sources = append(gm.Sources, x.Source)
		}
		steps, published := m.FlowOrDefault()
		gm.FlowPublished = published
		for _, st := range steps {
			gm.Flow = append(gm.Flow, pdf.GuideStep{Step: st.Step, Who: st.Who, Days: st.Days})
		}
		d.Matters = append(d.Matters, gm)
	}
	return s.render.GuideCtx(ctx, d)
}
