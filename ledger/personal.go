package ledger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The ledger is public: nothing in a published entry may name a person.
// Values under a personal field — at any depth of the payload — are
// replaced by a keyed commitment,
//
//	"hmac-sha256:" + base64url(HMAC-SHA-256(case key, field || 0x00 || value))
//
// under a random key of the case's applicant (ledger_case_keys, sealed with
// the pii key), and the readable value is kept beside it
// (ledger_openings) for the staff's timeline. Erasing the person deletes
// both: the entry, its hash and every proof stay as they were, and the
// commitment can no longer be tied to anyone (without the key a name
// cannot be tried against it).
var personalFields = map[string]bool{
	"name": true, "id_number": true, "phone": true, "address": true, // who the person is
	"note": true, "public_note": true, "reason": true, "comment": true, // free text typed about a case
	"summary": true, "duplicate_reason": true, "content": true, "step": true,
	"items":   true, // result items: a licence's name and number identify its holder
	"waybill": true, // a posted result: the carrier's tracking finds the addressee
}

// CommitmentPrefix opens every commitment string.
const CommitmentPrefix = "hmac-sha256:"

// caseKeyField seals a case's commitment key (row: the case id).
const caseKeyField pii.Field = "ledger_case_keys.key"

// ErasedValue is what a staff view shows for a commitment whose person was
// erased.
const ErasedValue = "（个人信息已删除）"

// Personal writes entries whose payloads may hold personal fields.
type Personal struct{ keys *pii.Keys }

// NewPersonal returns a writer sealing case keys with keys.
func NewPersonal(keys *pii.Keys) *Personal { return &Personal{keys: keys} }

// Encode validates an entry, replaces its personal values by commitments
// and returns the canonical payload; the readable values go to
// ledger_openings through db (the caller's transaction: a pipelined
// statement).
func (p *Personal) Encode(ctx context.Context, db dbsqlc.DBTX, m Meta, payload any) ([]byte, error) {
	b, err := Encode(m, payload)
	if err != nil {
		return nil, err
	}
	tree, fields := personalValues(b)
	if len(fields) == 0 {
		return b, nil
	}
	if m.CaseID == 0 {
		return nil, daiban.Invalid("payload", "不属于案件的台账记录不能包含个人信息（%s）", fields[0])
	}
	key, err := p.caseKey(ctx, db, m.CaseID)
	if err != nil {
		return nil, err
	}
	open := map[string]string{}
	tree = commitTree(tree, "", func(field, value string) string {
		c := commitment(key, field, value)
		open[c] = value
		return c
	})
	out, err := Canonical(tree)
	if err != nil {
		return nil, err
	}
	cs, vs := make([]string, 0, len(open)), make([]string, 0, len(open))
	for c := range open {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	for _, c := range cs {
		vs = append(vs, open[c])
	}
	if err := queries.LedgerOpeningsInsert(ctx, db, m.CaseID, cs, vs); err != nil {
		return nil, fmt.Errorf("ledger: openings: %w", err)
	}
	return out, nil
}

// Record is Encode followed by the entry's insert, in db.
func (p *Personal) Record(ctx context.Context, db dbsqlc.DBTX, m Meta, payload any) error {
	b, err := p.Encode(ctx, db, m, payload)
	if err != nil {
		return err
	}
	var caseID *int64
	if m.CaseID != 0 {
		caseID = &m.CaseID
	}
	if err := queries.LedgerRecord(ctx, db, dbsqlc.LedgerRecordParams{Actor: m.Actor, CaseID: caseID, Region: m.Region, Type: m.Type, Payload: b}); err != nil {
		return fmt.Errorf("ledger: record: %w", err)
	}
	return nil
}

// caseKey returns the case's commitment key, creating it on first use.
func (p *Personal) caseKey(ctx context.Context, db dbsqlc.DBTX, caseID int64) ([]byte, error) {
	row := strconv.FormatInt(caseID, 10)
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if err := queries.LedgerCaseKeyInsert(ctx, db, caseID, p.keys.Seal(caseKeyField, row, fresh)); err != nil {
		return nil, fmt.Errorf("ledger: case key: %w", err)
	}
	sealed, err := queries.LedgerCaseKey(ctx, db, caseID)
	if err != nil {
		return nil, fmt.Errorf("ledger: case key: %w", err)
	}
	return p.keys.Open(caseKeyField, row, sealed)
}

func commitment(key []byte, field, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return CommitmentPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// personalValues decodes a canonical payload and lists the personal fields
// holding a value that is not yet a commitment.
func personalValues(b []byte) (any, []string) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if dec.Decode(&tree) != nil {
		return nil, nil
	}
	var fields []string
	commitTree(tree, "", func(field, value string) string {
		fields = append(fields, field)
		return value
	})
	return tree, fields
}

// commitTree replaces, in place, every non-empty string under a personal
// field (and every string inside such a field's arrays and objects) that is
// not already a commitment by f(field, value).
func commitTree(v any, field string, f func(field, value string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			inner := field
			if personalFields[k] {
				inner = k
			}
			x[k] = commitTree(e, inner, f)
		}
	case []any:
		for i, e := range x {
			x[i] = commitTree(e, field, f)
		}
	case string:
		if field != "" && x != "" && !isCommitment(x) {
			return f(field, x)
		}
	}
	return v
}

func isCommitment(s string) bool {
	return len(s) == len(CommitmentPrefix)+43 && s[:len(CommitmentPrefix)] == CommitmentPrefix
}

// Openings returns the readable values behind the commitments of a case's
// entries.
func Openings(ctx context.Context, db dbsqlc.DBTX, caseID int64) (map[string]string, error) {
	rows, err := queries.LedgerOpenings(ctx, db, caseID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Commitment] = r.Value
	}
	return out, nil
}

// Reveal returns a payload with each commitment replaced by its readable
// value (ErasedValue when there is none), for staff. The published bytes
// are not changed.
func Reveal(payload []byte, openings map[string]string) []byte {
	marker := []byte(`"` + CommitmentPrefix)
	if !bytes.Contains(payload, marker) {
		return payload
	}
	var out []byte
	rest := payload
	for {
		i := bytes.Index(rest, marker)
		if i < 0 {
			return append(out, rest...)
		}
		end := bytes.IndexByte(rest[i+1:], '"')
		if end < 0 {
			return append(out, rest...)
		}
		c := string(rest[i+1 : i+1+end])
		v, ok := openings[c]
		if !ok {
			v = ErasedValue
		}
		out = append(out, rest[:i]...)
		out = appendJSONString(out, v)
		rest = rest[i+1+end+1:]
	}
}
