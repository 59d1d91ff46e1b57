package cases_test

import (
	"testing"

	"github.com/daiban/daiban/cases"
)

// TestEveryOpenStateHasOneQueue: the desk's queues cover every open state
// once and no closed one, so no open case can be on no list or on two.
func TestEveryOpenStateHasOneQueue(t *testing.T) {
	t.Parallel()
	in := map[cases.State][]string{}
	keys := map[string]bool{}
	for _, q := range cases.Queues {
		if keys[q.Key] {
			t.Errorf("queue key %s twice", q.Key)
		}
		keys[q.Key] = true
		for _, s := range q.States {
			in[s] = append(in[s], q.Key)
		}
	}
	for _, s := range cases.States {
		switch n := len(in[s]); {
		case s.Open() && n != 1:
			t.Errorf("open state %s is in queues %v, want exactly one", s, in[s])
		case !s.Open() && n != 0:
			t.Errorf("closed state %s is in queues %v", s, in[s])
		}
	}
	if !keys[cases.QueueOverdue] || !keys[cases.QueueDueSoon] {
		t.Error("the deadline queues are missing")
	}
}
