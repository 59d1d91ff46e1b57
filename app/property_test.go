package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/app/apptest"
	"github.com/daiban/daiban/cases"
)

// randomBody returns a plausible body for an action, sometimes a wrong one.
func randomBody(rng *rand.Rand, action string, c cases.Case) string {
	var mats string
	for i, m := range c.Materials {
		if i > 0 {
			mats += ","
		}
		got := rng.IntN(5) > 0
		mats += fmt.Sprintf(`{"code":%q,"received":%t,"original":%t,"pages":%d}`, m.Code, got, got && m.RequiredOriginal, map[bool]int{true: 1}[got])
	}
	switch action {
	case cases.ActReview:
		return fmt.Sprintf(`{"result":%q,"materials":[%s],"note":"初审意见"}`, []string{"accept", "supplement", "decline", "accept"}[rng.IntN(4)], mats)
	case cases.ActSupply:
		return fmt.Sprintf(`{"materials":[%s]}`, mats)
	case cases.ActAssign:
		return `{"agent":"r.town"}`
	case cases.ActProgress:
		return `{"note":"进展","notify_applicant":true}`
	case cases.ActEscalate:
		return `{"level":"city","authority":"淄博市行政审批服务局","tracker":"r.town","reply_due":"2099-12-31"}`
	case cases.ActReply:
		return fmt.Sprintf(`{"outcome":%q,"note":"回复"}`, []string{"approved", "returned", "refused"}[rng.IntN(3)])
	case cases.ActSuspend, cases.ActResume:
		return `{"reason":"原因"}`
	case cases.ActResults:
		return `{"items":[{"kind":"licence","name":"许可证","number":"X1"}]}`
	case cases.ActTerminate:
		return `{"reason":"申请人撤回","by":"applicant"}`
	case cases.ActEvaluate:
		return fmt.Sprintf(`{"rating":%d,"comment":"意见"}`, 1+rng.IntN(5))
	}
	return `{"note":"说明"}`
}

// TestRandomLifecycles drives random action sequences (including actions
// not allowed in the state, document events and stale versions) on many
// cases and checks the invariants after every step: the state is one of
// the contract's, a refused action changes nothing, and at the end every
// case's ledger replays to its current state.
func TestRandomLifecycles(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "r.town", "township_agent", "370323001")
	tok := env.Token(t, "r.town")
	actor := cases.Actor{Username: "r.town", Role: "township_agent", Region: "370323001"}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	valid := map[cases.State]bool{}
	for _, s := range cases.States {
		valid[s] = true
	}
	all := append(append([]string{}, cases.Actions...), cases.EventAgreement, cases.EventHandedOver, "verify")
	var ids []int64
	for i := 0; i < 12; i++ {
		id, _ := env.CreateCase(t, tok, "370323001", []string{"GT001", "SP001", "YJS001"}[i%3])
		ids = append(ids, id)
	}
	for step := 0; step < 900; step++ {
		id := ids[rng.IntN(len(ids))]
		before, err := env.App.Cases.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// Prefer actions the state allows, so cases travel far.
		action := all[rng.IntN(len(all))]
		if allowed := cases.ActionsFrom(before.State, before.PausedFrom); len(allowed) > 0 && rng.IntN(4) > 0 {
			action = allowed[rng.IntN(len(allowed))]
		}
		version := before.Version
		if rng.IntN(20) == 0 {
			version-- // a stale client
		}
		err = pgx.BeginFunc(ctx, env.Pool, func(tx pgx.Tx) error {
			switch action {
			case cases.EventAgreement:
				_, err := env.App.Cases.SignedAgreementTx(ctx, tx, actor, id, nil)
				return err
			case cases.EventHandedOver:
				_, err := env.App.Cases.HandedOverTx(ctx, tx, actor, id, nil)
				return err
			case "verify":
				all := map[int64]bool{}
				for _, it := range before.HandoverItems {
					all[it.ID] = true
				}
				_, err := env.App.Cases.VerifyHandoverTx(ctx, tx, actor, id, all)
				return err
			}
			body, err := cases.ParseBody(action, []byte(randomBody(rng, action, before)))
			if err != nil {
				return err
			}
			_, err = env.App.Cases.ActTx(ctx, tx, actor, id, version, action, body)
			return err
		})
		after, gerr := env.App.Cases.Get(ctx, id)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if !valid[after.State] {
			t.Fatalf("step %d: invalid state %q", step, after.State)
		}
		if err != nil {
			code := daiban.ErrorCode(err)
			if code == daiban.EINTERNAL {
				t.Fatalf("step %d %s: internal error %v", step, action, err)
			}
			if after.Version != before.Version || after.State != before.State {
				t.Fatalf("step %d: refused %s (%s) still changed the case", step, action, code)
			}
			continue
		}
		if action != "verify" && after.Version != before.Version+1 {
			t.Fatalf("step %d: %s moved version %d → %d", step, action, before.Version, after.Version)
		}
		if (after.State == cases.AwaitingMaterials || after.State == cases.Suspended) != (after.PausedFrom != "") {
			t.Fatalf("step %d: state %s with paused_from %q", step, after.State, after.PausedFrom)
		}
	}
	states := map[cases.State]int{}
	for _, id := range ids {
		c, _ := env.App.Cases.Get(ctx, id)
		states[c.State]++
		replayLedger(t, env, id)
	}
	t.Logf("final states: %v", states)
	if states[cases.Consultation] == len(ids) {
		t.Fatal("no case ever moved")
	}
}
