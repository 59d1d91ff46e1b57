package ledger

import (
	"context"

	"github.com/daiban/daiban/sql/dbsqlc"
)

// RecordAccount records an event about a staff account (created, role,
// region, name, disabled, enabled, password reset). Such an event belongs
// to no case; its region is the account's, so the supervisors whose scope
// holds the account see it in their export. It has the shape of
// users.Recorder: policies/users cannot import the ledger (the ledger's
// HTTP side imports policies), so it takes this at construction.
func RecordAccount(ctx context.Context, db dbsqlc.DBTX, actor, region, typ string, payload any) error {
	return Record(ctx, db, Meta{Actor: actor, Region: region, Type: typ}, payload)
}
