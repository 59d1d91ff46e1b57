package cases

import (
	"slices"

	"github.com/daiban/daiban"
)

// MatterStatus is where one matter of a 一件事 stands at its department.
type MatterStatus string

// The statuses, in the order a matter goes through them.
const (
	MatterWaiting   MatterStatus = "waiting"   // not yet submitted
	MatterSubmitted MatterStatus = "submitted" // 已报送部门
	MatterAccepted  MatterStatus = "accepted"  // 部门已受理
	MatterReturned  MatterStatus = "returned"  // 部门要求补正
	MatterDone      MatterStatus = "done"      // 部门已办结（出证/批复）
)

// MatterStatuses are the statuses an agent reports (waiting is where
// every matter starts).
var MatterStatuses = []MatterStatus{MatterSubmitted, MatterAccepted, MatterReturned, MatterDone}

var matterStatusNames = map[MatterStatus]string{MatterWaiting: "待报送", MatterSubmitted: "已报送部门", MatterAccepted: "部门已受理",
	MatterReturned: "部门要求补正", MatterDone: "部门已办结"}

// Name is the status's Chinese label.
func (m MatterStatus) Name() string { return matterStatusNames[m] }

func prepareMatterStatus(st *step, matter string, status MatterStatus) error {
	switch {
	case matter == "" && status == "":
		return nil
	case !slices.Contains(st.c.Matters, matter):
		return daiban.Invalid("matter", "请选择本案件的一个事项")
	case !slices.Contains(MatterStatuses, status):
		return daiban.Invalid("matter_status", "请选择该事项的进度：已报送、已受理、要求补正或已办结")
	}
	st.ch.ledger["matter"], st.ch.ledger["matter_status"] = matter, status
	return nil
}

// MatterProgress is one matter's latest progress within its 一件事.
type MatterProgress struct {
	Matter string       `json:"matter"`
	Status MatterStatus `json:"status"`
	Name   string       `json:"status_name"`
	Note   string       `json:"note,omitempty"`
	At     string       `json:"at,omitempty"`
}

// ChainProgress lists each matter of c with its latest reported status
// (from the case's progress entries in the ledger), in the chain's order.
func ChainProgress(c Case) []MatterProgress {
	out := make([]MatterProgress, len(c.Matters))
	for i, m := range c.Matters {
		out[i] = MatterProgress{Matter: m, Status: MatterWaiting, Name: MatterWaiting.Name()}
	}
	for _, e := range c.Timeline {
		if e.Matter == "" {
			continue
		}
		if i := slices.Index(c.Matters, e.Matter); i >= 0 {
			s := MatterStatus(e.MatterStatus)
			out[i] = MatterProgress{Matter: e.Matter, Status: s, Name: s.Name(), Note: e.Step, At: e.At.Format("2006-01-02")}
		}
	}
	return out
}
