package cases

import (
	"context"

	"github.com/daiban/daiban/cases/calendar"
)

// TownshipFigures are one township's figures on the supervisor's
// dashboard. Cases of the county itself count under the county's code.
type TownshipFigures struct {
	Township                             string
	Total, Open, Overdue, Escalated      int
	HandedOver, OnTime, Rated, RatingSum int
	Ratings                              [5]int // count of ratings 1..5
}

// FiguresByTownship returns the figures of every township that has cases
// inside scope, in code order: open, overdue (as of today in Shanghai, by
// the service's clock), escalated, handed over and on time, and ratings.
func (s *Service) FiguresByTownship(ctx context.Context, scope string) ([]TownshipFigures, error) {
	rows, err := s.q.DashboardTownships(ctx, s.pool, calendar.Date(s.Now()), scope)
	if err != nil {
		return nil, err
	}
	out := make([]TownshipFigures, 0, len(rows))
	for _, r := range rows {
		out = append(out, TownshipFigures{Township: r.Township,
			Total: int(r.Total), Open: int(r.Open), Overdue: int(r.Overdue), Escalated: int(r.Escalated),
			HandedOver: int(r.HandedOver), OnTime: int(r.OnTime), Rated: int(r.Rated), RatingSum: int(r.RatingSum),
			Ratings: [5]int{int(r.Rating1), int(r.Rating2), int(r.Rating3), int(r.Rating4), int(r.Rating5)}})
	}
	return out, nil
}
