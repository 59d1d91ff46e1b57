package deadlines

import (
	"context"
	"fmt"
	"time"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// ComplaintNotice tells the supervisors of a case's township (the
// county's when the township has none) that 12345 forwarded a complaint
// about it, due to be answered by replyDue, in db's transaction. It
// returns how many were told. The notice names the case, not the caller.
func (s *Service) ComplaintNotice(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, number, region, orderNo string, replyDue, at time.Time) (int, error) {
	var users []string
	for _, scope := range []string{township(region), region[:min(6, len(region))]} {
		var err error
		if users, err = s.q.SupervisorsIn(ctx, db, scope); err != nil {
			return 0, err
		}
		if len(users) > 0 {
			break
		}
	}
	due := replyDue.Format("2006-01-02")
	for _, u := range users {
		n := Notice{Recipient: u, Kind: Complaint, CaseID: caseID, CaseNumber: number, Region: region, Deadline: due,
			Title: fmt.Sprintf("12345 投诉：%s", number),
			Body:  fmt.Sprintf("12345 热线工单 %s 投诉案件 %s，已立整改事项，请于 %s 前办结并答复。", orderNo, number, due)}
		if _, err := s.create(ctx, db, actor, n, at); err != nil {
			return 0, err
		}
	}
	return len(users), nil
}
