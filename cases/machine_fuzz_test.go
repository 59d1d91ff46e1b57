package cases_test

import (
	"slices"
	"testing"

	"github.com/daiban/daiban/cases"
)

// machineActions are every action the table knows: the API actions and
// the two document events.
var machineActions = append(append([]string{}, cases.Actions...), cases.EventAgreement, cases.EventHandedOver, cases.EventPosted)

// machineResults are the results any action may carry ("" for none) plus
// one no edge knows.
var machineResults = []string{"", "accept", "supplement", "decline", "approved", "returned", "refused", "bogus"}

type transition struct{ from, to cases.State }

// machineCase is the pure model of a case the service keeps in the
// database: state and paused_from, moved by the rules of applyEdge.
type machineCase struct {
	state, pausedFrom cases.State
}

func (c *machineCase) apply(to cases.State) {
	cur := c.state
	c.state = to
	switch {
	case to == cur:
	case to == cases.AwaitingMaterials || to == cases.Suspended:
		c.pausedFrom = cur
	case cur == cases.AwaitingMaterials || cur == cases.Suspended:
		c.pausedFrom = ""
	}
}

// FuzzMachine walks the state machine with the choices in the input (one
// byte picks the action, the next the result) and checks the invariants
// of the table at every step, then replays the transitions taken.
func FuzzMachine(f *testing.F) {
	idx := func(a string) byte { return byte(slices.Index(machineActions, a)) }
	res := func(r string) byte { return byte(slices.Index(machineResults, r)) }
	// The paths of the contract: guide; accompany and complete; review
	// with supplements, the agreement, progress, escalation returned for
	// materials and resumed, suspension, results and handover, evaluation.
	f.Add([]byte{idx(cases.ActGuide), res("")})
	f.Add([]byte{idx(cases.ActAccompany), res(""), idx(cases.ActComplete), res(""), idx(cases.ActEvaluate), res("")})
	f.Add([]byte{idx(cases.ActReview), res("decline"), idx(cases.ActSupervise), res(""), idx(cases.ActEvaluate), res("")})
	f.Add([]byte{
		idx(cases.ActReview), res("supplement"), idx(cases.ActReview), res("supplement"), idx(cases.ActSupply), res(""),
		idx(cases.ActReview), res("supplement"), idx(cases.ActReview), res("accept"), idx(cases.EventAgreement), res(""),
		idx(cases.ActProgress), res(""), idx(cases.ActEscalate), res(""), idx(cases.ActReply), res("returned"),
		idx(cases.ActReview), res("accept"), idx(cases.ActSupply), res(""), idx(cases.ActSuspend), res(""),
		idx(cases.ActResume), res(""), idx(cases.ActReply), res("approved"), idx(cases.ActSuspend), res(""),
		idx(cases.ActAssign), res(""), idx(cases.ActResume), res(""), idx(cases.ActResults), res(""),
		idx(cases.EventHandedOver), res(""), idx(cases.ActEvaluate), res(""), idx(cases.ActSupervise), res(""),
	})
	f.Add([]byte{idx(cases.ActReview), res("supplement"), idx(cases.ActTerminate), res(""), idx(cases.ActResume), res("")})
	f.Add([]byte{idx(cases.ActReview), res("accept"), idx(cases.EventAgreement), res(""), idx(cases.ActSuspend), res(""), idx(cases.ActResume), res("")})
	f.Add([]byte{})
	f.Add([]byte{255, 255, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		c := machineCase{state: cases.Consultation}
		var path []transition
		checkState(t, c)
		for i := 0; i+1 < len(data); i += 2 {
			a := machineActions[int(data[i])%len(machineActions)]
			r := machineResults[int(data[i+1])%len(machineResults)]
			allowed := cases.Allowed(c.state, c.pausedFrom, a)
			e, ok := cases.Next(c.state, c.pausedFrom, a, cases.Result(r))
			if ok && !allowed {
				t.Fatalf("step %d: Next has %s/%q from %s (paused from %q) but Allowed says no", i/2, a, r, c.state, c.pausedFrom)
			}
			if allowed && !anyResult(c, a) {
				t.Fatalf("step %d: %s allowed from %s (paused from %q) but no result leads anywhere", i/2, a, c.state, c.pausedFrom)
			}
			if !ok {
				continue // invalid_transition: nothing changes
			}
			if e.From != c.state || e.Action != a || e.Result != cases.Result(r) {
				t.Fatalf("step %d: Next(%s, %q, %s, %q) returned edge %+v", i/2, c.state, c.pausedFrom, a, r, e)
			}
			to := e.Resolve(c.state, c.pausedFrom)
			if e.To == cases.Resume && c.pausedFrom == "" {
				t.Fatalf("step %d: %s resumes from %s with no paused-from state", i/2, a, c.state)
			}
			if to == "" || !slices.Contains(cases.States, to) {
				t.Fatalf("step %d: %s/%q from %s (paused from %q) leads to %q", i/2, a, r, c.state, c.pausedFrom, to)
			}
			if (e.Outcome != "") != (to.Open() == false && c.state.Open()) {
				t.Fatalf("step %d: %s/%q from %s to %s has outcome %q", i/2, a, r, c.state, to, e.Outcome)
			}
			path = append(path, transition{c.state, to})
			c.apply(to)
			checkState(t, c)
		}
		// Replay: the transitions chain and end in the final state.
		s := cases.Consultation
		for i, tr := range path {
			if tr.from != s {
				t.Fatalf("replay step %d starts in %s, the case was in %s", i, tr.from, s)
			}
			s = tr.to
		}
		if s != c.state {
			t.Fatalf("replay ends in %s, the case is in %s", s, c.state)
		}
	})
}

// anyResult reports whether some result takes action a from the case's state.
func anyResult(c machineCase, a string) bool {
	for _, r := range machineResults {
		if _, ok := cases.Next(c.state, c.pausedFrom, a, cases.Result(r)); ok {
			return true
		}
	}
	return false
}

func checkState(t *testing.T, c machineCase) {
	t.Helper()
	if !slices.Contains(cases.States, c.state) {
		t.Fatalf("state %q is not a state", c.state)
	}
	paused := c.state == cases.AwaitingMaterials || c.state == cases.Suspended
	if paused != (c.pausedFrom != "") {
		t.Fatalf("state %s with paused-from %q", c.state, c.pausedFrom)
	}
	if c.pausedFrom != "" && (!slices.Contains(cases.States, c.pausedFrom) || !c.pausedFrom.Open() || c.pausedFrom == c.state) {
		t.Fatalf("state %s paused from %q", c.state, c.pausedFrom)
	}
	var want []string
	for _, a := range machineActions {
		if cases.Allowed(c.state, c.pausedFrom, a) {
			if a != cases.EventAgreement && a != cases.EventHandedOver && a != cases.EventPosted {
				want = append(want, a)
			}
			if !anyResult(c, a) {
				t.Fatalf("%s allowed from %s (paused from %q) but Next knows no result", a, c.state, c.pausedFrom)
			}
		}
	}
	got := cases.ActionsFrom(c.state, c.pausedFrom)
	if !sameSet(got, want) {
		t.Fatalf("ActionsFrom(%s, %q) = %v, Allowed gives %v", c.state, c.pausedFrom, got, want)
	}
	if len(got) != len(want) {
		t.Fatalf("ActionsFrom(%s, %q) = %v repeats an action", c.state, c.pausedFrom, got)
	}
	if !c.state.Open() {
		ok := []string{cases.ActSupervise}
		if c.state == cases.Closed {
			ok = append(ok, cases.ActEvaluate)
		}
		if !sameSet(got, ok) {
			t.Fatalf("closed state %s allows %v, want %v", c.state, got, ok)
		}
		for _, ev := range []string{cases.EventAgreement, cases.EventHandedOver, cases.EventPosted} {
			if cases.Allowed(c.state, c.pausedFrom, ev) {
				t.Fatalf("closed state %s allows %s", c.state, ev)
			}
		}
	}
	for _, a := range machineActions {
		for _, r := range machineResults {
			if e, ok := cases.Next(c.state, c.pausedFrom, a, cases.Result(r)); ok && e.To == cases.Resume && c.pausedFrom == "" {
				t.Fatalf("%s/%q from %s resumes with no paused-from state", a, r, c.state)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	x, y = slices.Compact(x), slices.Compact(y)
	return slices.Equal(x, y)
}
