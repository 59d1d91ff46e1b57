package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app/apptest"
)

// actVerify is the agent's verification of the handover items: not in
// the state machine (it changes neither state nor version) but needed
// before the handover event can close a case.
const actVerify = "verify"

// walkActions are the choices of a walk: the API actions, the two
// document events and the verification.
var walkActions = append(append([]string{}, cases.Actions...), cases.EventAgreement, cases.EventHandedOver, actVerify)

// The results a walk may ask for; the first of each is the one a seed
// gets when it names none.
var (
	reviewResults = []string{"accept", "supplement", "decline", "accept"}
	replyOutcomes = []string{"approved", "returned", "refused"}
)

// pick returns a choice in [0, n). It is a walk's only source of
// randomness: a seeded generator in TestRandomLifecycles, the input bytes
// in FuzzCaseLifecycle.
type pick func(n int) int

// walker takes random steps on cases of one service as one agent.
type walker struct {
	env   *apptest.Env
	actor cases.Actor
	token string // the actor's, for the API
	valid map[cases.State]bool
}

func newWalker(env *apptest.Env, actor cases.Actor, token string) walker {
	w := walker{env: env, actor: actor, token: token, valid: map[cases.State]bool{}}
	for _, s := range cases.States {
		w.valid[s] = true
	}
	return w
}

// step applies one action chosen by p to case id — an API action through
// the HTTP API, a document event in one transaction as the documents
// package would — and checks what a user would notice: the state is one
// of the contract's, nothing is an internal error (no 5xx), a refused
// action changes nothing, and an accepted one is an edge of the state
// machine that moves the version by one.
//
// The choices are read in this order (walkOps writes seeds in it):
//
//  1. p(len(walkActions)): the action;
//  2. p(4): 0 keeps it, otherwise p(len(allowed)) picks one of the
//     actions the state allows instead, so that cases travel far;
//  3. API actions only: p(20), 1 sends a stale version;
//  4. the body: review p(4) the result, then p(materials+1), 0 for all
//     materials received, i for the i-th missing; supply the materials
//     likewise; reply p(3) the outcome; evaluate p(5), the rating 5-p.
func (w walker) step(t testing.TB, p pick, id int64, n int) {
	t.Helper()
	ctx := t.Context()
	before, err := w.env.App.Cases.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	action := walkActions[p(len(walkActions))]
	if allowed := cases.ActionsFrom(before.State, before.PausedFrom); p(4) > 0 && len(allowed) > 0 {
		action = allowed[p(len(allowed))]
	}
	api := slices.Contains(cases.Actions, action)
	version := before.Version
	if api && p(20) == 1 {
		version-- // a stale client
	}
	var result string
	if api {
		// Through the API, which owns the action's transaction.
		var raw string
		raw, result = walkBody(p, action, before)
		r := w.env.Do(t, w.token, http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, action), raw,
			map[string]string{"If-Match": fmt.Sprintf("%q", fmt.Sprint(version))})
		switch {
		case r.Status >= 500:
			t.Fatalf("step %d %s: %d %s", n, action, r.Status, r.Body)
		case r.Status >= 400:
			if r.ErrorCode() == "" {
				t.Fatalf("step %d %s: %d without the error envelope: %s", n, action, r.Status, r.Body)
			}
			err = daiban.Errorf(r.ErrorCode(), "%s", r.Body)
		case r.Status != http.StatusOK:
			t.Fatalf("step %d %s: %d %s", n, action, r.Status, r.Body)
		}
	} else {
		err = w.event(ctx, id, action, before)
	}
	w.check(t, n, action, result, before, api, err)
}

// event applies a document event (agreement signed, handed over) or the
// handover verification inside one transaction, as the documents package
// does when a signature is sealed.
func (w walker) event(ctx context.Context, id int64, action string, before cases.Case) error {
	return pgx.BeginFunc(ctx, w.env.Pool, func(tx pgx.Tx) error {
		switch action {
		case cases.EventAgreement:
			_, err := w.env.App.Cases.SignedAgreementTx(ctx, tx, w.actor, id, nil)
			return err
		case cases.EventHandedOver:
			_, err := w.env.App.Cases.HandedOverTx(ctx, tx, w.actor, id, nil)
			return err
		case actVerify:
			all := map[int64]bool{}
			for _, it := range before.HandoverItems {
				all[it.ID] = true
			}
			_, err := w.env.App.Cases.VerifyHandoverTx(ctx, tx, w.actor, id, all)
			return err
		}
		return fmt.Errorf("not an event: %s", action)
	})
}

// check compares the case after a step with the case before and the state
// machine table.
func (w walker) check(t testing.TB, n int, action, result string, before cases.Case, api bool, err error) {
	t.Helper()
	id := before.ID
	after, gerr := w.env.App.Cases.Get(t.Context(), id)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if !w.valid[after.State] {
		t.Fatalf("step %d: invalid state %q", n, after.State)
	}
	if (after.State == cases.AwaitingMaterials || after.State == cases.Suspended) != (after.PausedFrom != "") {
		t.Fatalf("step %d: state %s with paused_from %q", n, after.State, after.PausedFrom)
	}
	if err != nil {
		code := daiban.ErrorCode(err)
		if code == daiban.EINTERNAL {
			t.Fatalf("step %d %s: internal error %v", n, action, err)
		}
		if after.Version != before.Version || after.State != before.State || after.PausedFrom != before.PausedFrom {
			t.Fatalf("step %d: refused %s (%s) still changed the case: %s v%d → %s v%d", n, action, code, before.State, before.Version, after.State, after.Version)
		}
		return
	}
	if action == actVerify {
		// Not an edge of the table: the service allows it only while the
		// case waits for its handover, and it moves nothing.
		if before.State != cases.ReadyForHandover || after.State != before.State || after.Version != before.Version {
			t.Fatalf("step %d: verify in %s v%d left %s v%d", n, before.State, before.Version, after.State, after.Version)
		}
		return
	}
	// ActionsFrom lists API actions only; the table speaks for the
	// document events through Allowed.
	if api && !slices.Contains(cases.ActionsFrom(before.State, before.PausedFrom), action) ||
		!api && !cases.Allowed(before.State, before.PausedFrom, action) {
		t.Fatalf("step %d: %s succeeded from %s (paused from %q), which the state machine does not allow", n, action, before.State, before.PausedFrom)
	}
	e, ok := cases.Next(before.State, before.PausedFrom, action, cases.Result(result))
	if !ok {
		t.Fatalf("step %d: %s/%q succeeded from %s (paused from %q) with no edge", n, action, result, before.State, before.PausedFrom)
	}
	if to := e.Resolve(before.State, before.PausedFrom); after.State != to {
		t.Fatalf("step %d: %s/%q from %s led to %s, the table says %s", n, action, result, before.State, after.State, to)
	}
	if want := pausedAfter(before, after.State); after.PausedFrom != want {
		t.Fatalf("step %d: %s from %s (paused from %q) to %s left paused_from %q, want %q", n, action, before.State, before.PausedFrom, after.State, after.PausedFrom, want)
	}
	if after.Version != before.Version+1 {
		t.Fatalf("step %d: %s moved version %d → %d", n, action, before.Version, after.Version)
	}
}

// pausedAfter is the state a case moving from c to to is paused from: a
// pause remembers where it came from, leaving one forgets it, staying
// keeps it.
func pausedAfter(c cases.Case, to cases.State) cases.State {
	switch {
	case to == c.State:
		return c.PausedFrom
	case to == cases.AwaitingMaterials || to == cases.Suspended:
		return c.State
	}
	return ""
}

// walkBody returns a plausible body for an action, sometimes a wrong one
// (materials missing where the review accepts them), and the result the
// state machine will look up.
func walkBody(p pick, action string, c cases.Case) (body, result string) {
	mats := func() string {
		missing := p(len(c.Materials)+1) - 1
		var out []string
		for i, m := range c.Materials {
			got := i != missing
			out = append(out, fmt.Sprintf(`{"code":%q,"received":%t,"original":%t,"pages":%d}`, m.Code, got, got && m.RequiredOriginal, map[bool]int{true: 1}[got]))
		}
		return strings.Join(out, ",")
	}
	switch action {
	case cases.ActReview:
		r := reviewResults[p(len(reviewResults))]
		return fmt.Sprintf(`{"result":%q,"materials":[%s],"note":"初审意见"}`, r, mats()), r
	case cases.ActSupply:
		return fmt.Sprintf(`{"materials":[%s]}`, mats()), ""
	case cases.ActAssign:
		return `{"agent":"r.town"}`, ""
	case cases.ActProgress:
		return `{"note":"进展","notify_applicant":true}`, ""
	case cases.ActEscalate:
		return `{"level":"city","authority":"淄博市行政审批服务局","tracker":"r.town","reply_due":"2099-12-31"}`, ""
	case cases.ActReply:
		r := replyOutcomes[p(len(replyOutcomes))]
		return fmt.Sprintf(`{"outcome":%q,"note":"回复"}`, r), r
	case cases.ActSuspend, cases.ActResume:
		return `{"reason":"原因"}`, ""
	case cases.ActResults:
		return `{"items":[{"kind":"licence","name":"许可证","number":"X1"}]}`, ""
	case cases.ActTerminate:
		return `{"reason":"申请人撤回","by":"applicant"}`, ""
	case cases.ActEvaluate:
		return fmt.Sprintf(`{"rating":%d,"comment":"意见"}`, 5-p(5)), ""
	}
	return `{"note":"说明"}`, ""
}

// walkOps encodes named steps as fuzz input, in the order step reads its
// choices: "review:supplement" asks for a supplement with the first
// material missing, "review:accept" and "supply" bring every material,
// "reply:returned" names the outcome (the first result when none is
// named), "evaluate" rates 5; a leading "~" sends a stale version.
func walkOps(steps ...string) []byte {
	var b []byte
	for _, s := range steps {
		stale, s := strings.HasPrefix(s, "~"), strings.TrimPrefix(s, "~")
		action, result, _ := strings.Cut(s, ":")
		i := slices.Index(walkActions, action)
		if i < 0 {
			panic("walkOps: unknown action " + action)
		}
		b = append(b, byte(i), 0)
		if !slices.Contains(cases.Actions, action) {
			continue
		}
		b = append(b, map[bool]byte{true: 1}[stale])
		index := func(list []string) byte {
			if result == "" {
				return 0
			}
			j := slices.Index(list, result)
			if j < 0 {
				panic("walkOps: unknown result " + s)
			}
			return byte(j)
		}
		switch action {
		case cases.ActReview:
			b = append(b, index(reviewResults), map[bool]byte{true: 1}[result == "supplement"])
		case cases.ActSupply, cases.ActEvaluate:
			b = append(b, 0)
		case cases.ActReply:
			b = append(b, index(replyOutcomes))
		}
	}
	return b
}

// TestRandomLifecycles drives random action sequences (including actions
// not allowed in the state, document events and stale versions) on many
// cases and checks the invariants after every step; at the end every
// case's ledger replays to its current state.
func TestRandomLifecycles(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.User(t, "r.town", "township_agent", "370323001")
	tok := env.Token(t, "r.town")
	w := newWalker(env, cases.Actor{Username: "r.town", Role: "township_agent", Region: "370323001"}, tok)
	rng := rand.New(rand.NewPCG(7, 11))
	var ids []int64
	for i := 0; i < 12; i++ {
		id, _ := env.CreateCase(t, tok, "370323001", []string{"GT001", "SP001", "YJS001"}[i%3])
		ids = append(ids, id)
	}
	for n := 0; n < 900; n++ {
		w.step(t, rng.IntN, ids[rng.IntN(len(ids))], n)
	}
	states := map[cases.State]int{}
	for _, id := range ids {
		c, err := env.App.Cases.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		states[c.State]++
		replayLedger(t, env, id)
	}
	t.Logf("final states: %v", states)
	if states[cases.Consultation] == len(ids) {
		t.Fatal("no case ever moved")
	}
}

// fuzzSteps bounds one input's walk so that an execution stays fast.
const fuzzSteps = 64

// FuzzCaseLifecycle walks one case of the real service (matter chosen by
// the first argument) with the choices in ops, one byte a choice (see
// walker.step), until ops runs out, checking the invariants after every
// step and that the ledger replays to the case at the end.
func FuzzCaseLifecycle(f *testing.F) {
	env := apptest.New(f)
	env.User(f, "r.town", "township_agent", "370323001")
	tok := env.Token(f, "r.town")
	w := newWalker(env, cases.Actor{Username: "r.town", Role: "township_agent", Region: "370323001"}, tok)
	matters := []string{"GT001", "SP001", "YJS001"}

	f.Add(byte(0), walkOps(cases.ActGuide, cases.ActEvaluate))
	f.Add(byte(0), walkOps(cases.ActAccompany, cases.ActAssign, cases.ActComplete, cases.ActEvaluate, "~evaluate", cases.ActSupervise))
	f.Add(byte(1), walkOps("review:decline", cases.ActEvaluate, cases.ActSupervise))
	f.Add(byte(2), walkOps(
		"review:supplement", "review:supplement", cases.ActSupply, "review:accept", cases.EventAgreement,
		cases.ActProgress, cases.ActEscalate, "reply:returned", "review:accept", cases.ActSupply,
		cases.ActSuspend, cases.ActResume, "reply:approved", cases.ActEscalate, "reply:refused",
		cases.ActResults, cases.EventHandedOver, actVerify, cases.EventHandedOver, cases.ActEvaluate, cases.ActSupervise,
	))
	f.Add(byte(0), walkOps("review:supplement", cases.ActTerminate, cases.ActResume, cases.ActSupply))
	f.Add(byte(1), walkOps(
		"review:accept", cases.EventAgreement, cases.ActSuspend, cases.ActAssign, cases.ActResume,
		cases.ActProgress, "~progress", cases.ActSuspend, cases.ActResults, cases.ActResume, cases.ActResults,
	))
	f.Add(byte(2), []byte{})
	f.Add(byte(255), []byte{255, 255, 255, 255, 255, 255, 255, 255})

	f.Fuzz(func(t *testing.T, matter byte, ops []byte) {
		id, _ := env.CreateCase(t, tok, "370323001", matters[int(matter)%len(matters)])
		in := ops
		p := func(n int) int {
			if len(in) == 0 {
				return 0
			}
			c := int(in[0]) % n
			in = in[1:]
			return c
		}
		for n := 0; n < fuzzSteps && len(in) > 0; n++ {
			w.step(t, p, id, n)
		}
		replayLedger(t, env, id)
	})
}
