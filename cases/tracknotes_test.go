package cases_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban/cases"
)

// TestTrackShowsOnlyApplicantNotes: the tracking view keeps the notes
// meant for the applicant and drops the staff's, including reasons that
// older ledger entries wrote into public_note.
func TestTrackShowsOnlyApplicantNotes(t *testing.T) {
	t.Parallel()
	const secret = "内部备注XJ7"
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	ev := func(typ, note, public string) cases.Event {
		return cases.Event{At: at, Actor: "a", Type: typ, Note: note, Public: public}
	}
	c := cases.Case{Timeline: []cases.Event{
		ev("case.review", "缺身份证", "请补交材料（需补正：身份证）"),
		ev("case.agreement_signed", secret, ""),
		ev("case.progress", secret, ""),
		ev("case.progress", "已报送审批局", "已报送审批局"),
		ev("case.suspend", secret, "中止："+secret),
		ev("case.resume", secret, "续办："+secret),
		ev("case.escalate", secret, ""),
		ev("case.reply", secret, "上级已批准："+secret),
		ev("case.supervise", secret, ""),
		ev("case.supervise", secret, secret), // even if an entry said so
		ev("case.custody", secret, secret),
		ev("notice.created", secret, secret),
		ev("case.results", "", "办理结果已出具，请按通知到窗口签收"),
		ev("case.handed_over", secret, ""),
	}}
	v := cases.Track(c)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), secret) {
		t.Errorf("tracking shows a staff note: %s", b)
	}
	var notes []string
	for _, p := range v.Progress {
		notes = append(notes, p.Note)
	}
	want := []string{"请补交材料（需补正：身份证）", "已签订委托协议，开始计算办理时限", "已报送审批局", "案件暂停办理", "案件恢复办理", "上级已批准", "办理结果已出具，请按通知到窗口签收", "办理结果已当面交付并签收，本件办结"}
	if strings.Join(notes, "|") != strings.Join(want, "|") {
		t.Errorf("tracking notes\n got %q\nwant %q", notes, want)
	}
}
