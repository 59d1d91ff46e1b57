package app

import (
	"context"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
)

// openPII loads (on first start creates) the key that seals personal
// numbers, and seals whatever migration 00009 left in clear, before any
// request is served.
func (a *App) openPII(ctx context.Context, o Options) error {
	var err error
	if a.PII, err = pii.LoadOrCreate(o.KeyDir); err != nil {
		return err
	}
	a.personal = ledger.NewPersonal(a.PII) // case entries commit personal values under per-case keys
	n, err := cases.SealPending(ctx, a.Pool, a.PII)
	if n > 0 && a.Logger != nil {
		a.Logger.Info("personal numbers sealed", "cases", n)
	}
	return err
}
