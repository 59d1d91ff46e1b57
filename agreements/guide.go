package agreements

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/catalog"
)

// GuidePDF renders the printable 办事指南 of a matter or chain.
func (s *Service) GuidePDF(ctx context.Context, g catalog.GuideView) (_ []byte, err error) {
	defer daiban.Wrap(&err, "agreements: guide %s", g.Code)
	d := pdf.GuideData{Code: g.Code, Title: g.Name, Chain: g.Kind == "chain", Description: g.Description, Shared: g.SharedMaterials,
		ServiceFee: g.ServiceFee, Complaints: g.Complaints, PrintedAt: calendar.Date(s.Now())}
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
	key, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if b, ok := s.guides.get(string(key)); ok {
		return b, nil
	}
	b, err := s.render.GuideCtx(ctx, d)
	if err == nil {
		s.guides.put(string(key), b)
	}
	return b, err
}

// guideCache keeps rendered guides by everything printed on them (the
// guide's content and the day), so a public PDF is not rendered anew for
// every request: a catalog change or a new day renders it again.
type guideCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// guideCacheMax bounds the cache (a guide is some 100 KB; the county has
// a few dozen): past it the cache starts again.
const guideCacheMax = 200

func (g *guideCache) get(key string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.m[key]
	return b, ok
}

func (g *guideCache) put(key string, b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil || len(g.m) >= guideCacheMax {
		g.m = map[string][]byte{}
	}
	g.m[key] = b
}
