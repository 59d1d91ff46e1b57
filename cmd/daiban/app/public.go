package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/httpapi"
)

// PublicOptions configure the public ledger and the limits of the public
// routes (issue 13).
type PublicOptions struct {
	// Witnesses cosign checkpoints (DAIBAN_WITNESSES); with none, the
	// service runs one witness of its own (KeyDir/witness.key), which
	// proves nothing to outsiders but keeps the demo whole.
	Witnesses []ledger.WitnessRef
	// Quorum is how many must cosign (DAIBAN_WITNESS_QUORUM; 0: all).
	Quorum int
	// RatePerSecond and RateBurst limit each client address on the public
	// routes (0: 10 a second, bursts of 40).
	RatePerSecond float64
	RateBurst     int
}

// openPublic sets up the witnesses, the publisher, the public ledger
// routes and the rate limit of the public routes.
func (a *App) openPublic(o Options) error {
	ws := o.Public.Witnesses
	if len(ws) == 0 {
		skey, err := ledger.LoadOrCreateWitnessKey(filepath.Join(o.KeyDir, ledger.WitnessKeyFile), "witness.local."+o.Origin)
		if err != nil {
			return err
		}
		if a.Witness, err = ledger.NewWitness(skey, a.Signer.VerifierKey(), filepath.Join(o.KeyDir, ledger.WitnessStateFile)); err != nil {
			return err
		}
		ws = []ledger.WitnessRef{ledger.LocalWitness(a.Witness)}
	}
	var err error
	if a.Publisher, err = ledger.NewPublisher(a.Ledger, ws, o.Public.Quorum); err != nil {
		return err
	}
	rps, burst := o.Public.RatePerSecond, o.Public.RateBurst
	if rps <= 0 {
		rps = 10
	}
	if burst <= 0 {
		burst = 40
	}
	a.Limiter = httpapi.NewRateLimiter(httpapi.PublicPrefixes, rps, burst)
	a.HTTP.Echo.Use(a.Limiter.Middleware())
	a.HTTP.Register(a.Ledger.PublicRoutes()...)
	return nil
}

// publish gets checkpoints cosigned and published until ctx ends.
func (a *App) publish(ctx context.Context) {
	a.Publisher.Run(ctx, time.Second)
}
