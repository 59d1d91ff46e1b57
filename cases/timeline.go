package cases

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Event is one step of a case's timeline. The timeline is read from the
// case's ledger entries, so what the agent, the supervisor and the
// applicant see is what the ledger proves.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Type   string    `json:"type"`
	Name   string    `json:"name"`
	Step   string    `json:"step,omitempty"`
	Note   string    `json:"note,omitempty"`
	Public string    `json:"public_note,omitempty"`
	// Matter and MatterStatus: a progress step of one matter of a 一件事.
	Matter       string `json:"matter,omitempty"`
	MatterStatus string `json:"matter_status,omitempty"`
}

// eventNames labels ledger entry types that are not actions.
var eventNames = map[string]string{
	"case.due_confirmed": "办结日期确认", // a provisional due date a calendar import kept

	"case.created": "接待登记", "case.custody": "材料移交", "case.handover_verified": "交付核验",
	"document.drafted": "生成文书", "document.signed": "文书签名", "document.sealed": "文书盖章", "document.timestamped": "补加时间戳",
	"case.due_changed": "办结时限调整", "case.rectified": "差评整改办结", "notice.created": "发出提醒",
	"case.rectification_due_changed": "整改期限调整", "calendar.imported": "导入节假日安排",
	"case.dispatched": "邮寄寄出",
}

// EventName is the Chinese name of a ledger entry type, for people (the
// timeline, the ledger export); "" when the type is unknown.
func EventName(typ string) string {
	if n := eventNames[typ]; n != "" {
		return n
	}
	if n := ActionNames[strings.TrimPrefix(typ, "case.")]; n != "" && strings.HasPrefix(typ, "case.") {
		return n
	}
	if strings.HasPrefix(typ, "user.") {
		return "账号变更"
	}
	return ""
}

// events reads a case's ledger entries with their personal values put
// back: the published entries hold commitments (package ledger), the staff
// and the applicant read what was written.
func (s *Service) events(ctx context.Context, db dbsqlc.DBTX, id int64) ([]dbsqlc.CaseEventsRow, error) {
	rows, err := s.q.CaseEvents(ctx, db, &id)
	if err != nil {
		return nil, err
	}
	open, err := ledger.Openings(ctx, db, id)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Payload = ledger.Reveal(rows[i].Payload, open)
	}
	return rows, nil
}

func timeline(rows []dbsqlc.CaseEventsRow) []Event {
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		var p struct {
			Note       string `json:"note"`
			Reason     string `json:"reason"`
			Step       string `json:"step"`
			PublicNote string `json:"public_note"`
			// case.created, when the applicant had an open case for the
			// same matter.
			DuplicateOf     []string `json:"duplicate_of"`
			DuplicateReason string   `json:"duplicate_reason"`
			Matter          string   `json:"matter"`
			MatterStatus    string   `json:"matter_status"`
		}
		_ = json.Unmarshal(r.Payload, &p) // the ledger holds canonical JSON objects
		name := EventName(r.Type)
		if name == "" {
			name = "其他记录"
		}
		note := p.Note
		if note == "" {
			note = p.Reason
		}
		if note == "" && p.DuplicateReason != "" {
			note = "已有在办案件 " + strings.Join(p.DuplicateOf, "、") + "，另行登记原因：" + p.DuplicateReason
		}
		out = append(out, Event{At: r.At, Actor: r.Actor, Type: r.Type, Name: name, Step: p.Step, Note: note, Public: p.PublicNote,
			Matter: p.Matter, MatterStatus: p.MatterStatus})
	}
	return out
}
