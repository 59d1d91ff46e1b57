package cases

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Recorder appends a ledger entry inside the caller's transaction. The
// payload must carry no full ID or phone numbers.
type Recorder func(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) error

// Encoder validates a ledger entry and returns its canonical payload, as
// published; db is the action's transaction (a pipe).
type Encoder func(ctx context.Context, db dbsqlc.DBTX, actor string, caseID int64, region, typ string, payload any) ([]byte, error)

// Service runs the case lifecycle.
type Service struct {
	pool      *pgxpool.Pool
	q         *dbsqlc.Queries
	record    Recorder
	encode    Encoder
	cal       func() *calendar.Calendar
	now       func() time.Time
	deadlines Deadlines
	pii       *pii.Keys
	authz     *policies.Authorizer
	printable func(field, s string) error
	notify    Notifier
}

// Config is what a Service needs; NewService takes it whole.
type Config struct {
	Pool   *pgxpool.Pool
	Record Recorder
	// Encode, when set, validates a ledger entry and returns its canonical
	// payload; an action then writes the case and its entry in one
	// statement instead of two. It may write beside the entry through db
	// (the readable values of the entry's commitments, package ledger).
	Encode Encoder
	// Calendar returns the working-day calendar in force (it can change
	// while the server runs).
	Calendar func() *calendar.Calendar
	// Deadlines computes due dates and hears of every action (package
	// cases/deadlines). Required.
	Deadlines Deadlines
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
	// PII seals the applicants' ID numbers and phones. Required.
	PII *pii.Keys
	// Authz decides who can see a case: an original is handed in custody
	// only to such a user (or the applicant, or a department). Required.
	Authz *policies.Authorizer
	// Printable refuses text the documents cannot print (a character no
	// font has, a private-use one); the applicant's name is checked at
	// intake, not first at the tablet. Nil checks nothing.
	Printable func(field, s string) error
	// Notify writes the applicant notifications of a change in its
	// transaction (package cases/notify). Nil tells nobody.
	Notify Notifier
}

// NewService returns a Service. It panics without c.Deadlines: every
// delegated case needs its clock.
func NewService(c Config) *Service {
	if c.Deadlines == nil || c.Authz == nil {
		panic("cases: NewService without Deadlines or Authz")
	}
	if c.PII == nil {
		panic("cases: NewService without PII keys")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{pool: c.Pool, q: dbsqlc.New(), record: c.Record, encode: c.Encode, cal: c.Calendar, now: c.Now, deadlines: c.Deadlines, pii: c.PII, authz: c.Authz, printable: c.Printable, notify: c.Notify}
}

// Now returns the service's current time.
func (s *Service) Now() time.Time { return s.now() }

// NewCase is the input to Create.
type NewCase struct {
	Region    string    `json:"region"`
	Channel   Channel   `json:"channel" enum:"counter,village,hotline,online" doc:"counter 窗口接待，village 村代办员，hotline 热线电话，online 网上申请"`
	Matter    string    `json:"matter"`
	Applicant Applicant `json:"applicant"`
	Summary   string    `json:"summary"`
	// DuplicateReason is why the applicant is registered again while a
	// case for the same matter is open (required then; see
	// OpenDuplicates). It goes into the ledger entry.
	DuplicateReason string `json:"duplicate_reason,omitempty"`
	// Notify false: the applicant wants no texts about the case (they
	// are sent by default).
	Notify *bool `json:"notify,omitempty"`
}

// HotlineTitle is the title of a case a 12345 work order opened without
// naming a matter.
const HotlineTitle = "12345 热线诉求"

// Create opens a case in consultation. It runs in tx so an idempotent
// request can store its response in the same transaction.
func (s *Service) Create(ctx context.Context, tx pgx.Tx, a Actor, in NewCase) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: create case in %s", in.Region)
	if err := s.validateNew(&in); err != nil {
		return Case{}, err
	}
	if _, err := s.q.RegionGet(ctx, tx, in.Region); err != nil {
		return Case{}, invalidIfMissing(err, "region", "地区代码 %q 不存在", in.Region)
	}
	title, matterCode, chainCode, codes, err := s.matterOf(ctx, tx, in.Matter)
	if err != nil {
		return Case{}, err
	}
	dupOf, dupReason, err := s.checkDuplicates(ctx, tx, in, codes)
	if err != nil {
		return Case{}, err
	}
	matters, mats, err := s.mattersOf(ctx, tx, codes)
	if err != nil {
		return Case{}, err
	}
	now := s.Now()
	day := calendar.Date(now)
	n, err := s.q.CaseNextNumber(ctx, tx, in.Region, day)
	if err != nil {
		return Case{}, err
	}
	number := fmt.Sprintf("%s-%s-%04d", in.Region, day.Format("20060102"), n)
	sl := sealApplicant(s.pii, number, in.Applicant.IDNumber, in.Applicant.Phone)
	row, err := s.q.CaseInsert(ctx, tx, dbsqlc.CaseInsertParams{
		Number:                number,
		TrackingCode:          newTrackingCode(),
		Region:                in.Region,
		Channel:               string(in.Channel),
		MatterCode:            matterCode,
		ChainCode:             chainCode,
		Title:                 title,
		MatterCodes:           codes,
		Complexity:            hardest(matters),
		LimitDays:             longest(matters),
		ApplicantKind:         in.Applicant.Kind,
		ApplicantName:         in.Applicant.Name,
		ApplicantIDNumberEnc:  sl.idEnc,
		ApplicantPhoneEnc:     sl.phoneEnc,
		ApplicantIDNumberBidx: sl.idIdx,
		ApplicantPhoneBidx:    sl.phoneIdx,
		Summary:               in.Summary,
		State:                 string(Consultation),
		CreatedBy:             a.Username,
		Now:                   now,
	})
	if err != nil {
		return Case{}, err
	}
	if err := s.insertMaterials(ctx, tx, row.ID, mats); err != nil {
		return Case{}, err
	}
	c := fromRow(row)
	c.Applicant.IDNumber, c.Applicant.Phone = in.Applicant.IDNumber, in.Applicant.Phone
	entry := map[string]any{
		"number": c.Number, "state": c.State, "version": c.Version, "channel": c.Channel,
		"matters": c.Matters, "title": c.Title, "limit_days": c.LimitDays,
		"applicant": map[string]string{"kind": c.Applicant.Kind, "name": c.Applicant.Name, "id_number": MaskID(c.Applicant.IDNumber), "phone": MaskPhone(c.Applicant.Phone)},
	}
	if optedOut(in) {
		entry["notify"] = false // the applicant wants no texts
	}
	if len(dupOf) > 0 {
		entry["duplicate_of"], entry["duplicate_reason"] = dupOf, dupReason
	}
	if err = s.record(ctx, tx, a.Username, c.ID, c.Region, "case.created", entry); err != nil {
		return Case{}, err
	}
	return c, s.tell(ctx, tx, ApplicantEvent{CaseID: c.ID, Version: c.Version, Action: "create", To: c.State, OptOut: optedOut(in)})
}

// mattersOf reads the matters of a new case and their materials.
func (s *Service) mattersOf(ctx context.Context, tx pgx.Tx, codes []string) ([]dbsqlc.Matter, []dbsqlc.MatterMaterialsRow, error) {
	matters := make([]dbsqlc.Matter, 0, len(codes))
	for _, c := range codes {
		m, err := s.q.MatterGet(ctx, tx, c)
		if err != nil {
			return nil, nil, err
		}
		matters = append(matters, m)
	}
	mats, err := s.q.MatterMaterials(ctx, tx, codes)
	return matters, mats, err
}

// optedOut reports whether the applicant said at intake: no texts.
func optedOut(in NewCase) bool { return in.Notify != nil && !*in.Notify }

// matterOf resolves the matter (or chain) of a new case; a 12345 order
// naming none opens a case without one (HotlineTitle).
func (s *Service) matterOf(ctx context.Context, tx pgx.Tx, code string) (title string, matter, chain *string, codes []string, err error) {
	if code == "" {
		return HotlineTitle, nil, nil, []string{}, nil
	}
	return s.resolveMatter(ctx, tx, code)
}

// insertMaterials lists a new case's required materials. A chain collects
// each shared material once: the strictest requirement (original over
// copy, the larger count) wins.
func (s *Service) insertMaterials(ctx context.Context, tx pgx.Tx, caseID int64, mats []dbsqlc.MatterMaterialsRow) error {
	type req struct {
		name     string
		original bool
		count    int32
		pos      int
	}
	merged := map[string]*req{}
	var order []string
	for _, m := range mats {
		r, ok := merged[m.MaterialCode]
		if !ok {
			r = &req{name: m.Name, pos: len(order)}
			merged[m.MaterialCode] = r
			order = append(order, m.MaterialCode)
		}
		r.original = r.original || m.Original
		r.count = max(r.count, m.Count)
	}
	for _, code := range order {
		r := merged[code]
		err := s.q.CaseMaterialInsert(ctx, tx, dbsqlc.CaseMaterialInsertParams{CaseID: caseID, Code: code, Name: r.name, Position: int32(r.pos), RequiredOriginal: r.original, RequiredCount: r.count})
		if err != nil {
			return err
		}
	}
	return nil
}

// CheckRegion answers invalid when a region code does not exist.
func (s *Service) CheckRegion(ctx context.Context, code string) error {
	_, err := s.q.RegionGet(ctx, s.pool, code)
	return invalidIfMissing(err, "region", "地区代码 %q 不存在", code)
}

func (s *Service) validateNew(in *NewCase) error {
	var err error
	if !slices.Contains(Channels, in.Channel) {
		return daiban.Invalid("channel", "请选择受理渠道：窗口、村代办点、热线或网上")
	}
	// A 12345 work order may name no matter and carries no ID number:
	// the agent learns both when the caller comes in.
	byHotline := in.Channel == Hotline
	if in.Matter == "" && !byHotline {
		return daiban.Invalid("matter", "请选择办理事项")
	}
	ap := &in.Applicant
	ap.IDNumber = strings.ToUpper(strings.TrimSpace(ap.IDNumber))
	ap.Phone = strings.TrimSpace(ap.Phone)
	if ap.Name, err = text("applicant.name", ap.Name, 100, true); err != nil {
		return err
	}
	if s.printable != nil {
		if err := s.printable("applicant.name", ap.Name); err != nil {
			return err
		}
	}
	switch ap.Kind {
	case "person":
		if !ValidIDNumber(ap.IDNumber) && !(byHotline && ap.IDNumber == "") {
			return daiban.Invalid("applicant.id_number", "身份证号码无效：应为 18 位，且校验位正确")
		}
	case "enterprise":
		if !ValidCreditCode(ap.IDNumber) {
			return daiban.Invalid("applicant.id_number", "统一社会信用代码无效：应为 18 位，且校验位正确")
		}
	default:
		return daiban.Invalid("applicant.kind", "请选择申请人类型：个人或企业")
	}
	if !phonePattern.MatchString(ap.Phone) {
		return daiban.Invalid("applicant.phone", "联系电话无效：应为 11 位手机号或带区号的固定电话")
	}
	in.Summary, err = text("summary", in.Summary, 2000, false)
	return err
}

// resolveMatter accepts a matter code or a chain (一件事) code.
func (s *Service) resolveMatter(ctx context.Context, tx pgx.Tx, code string) (title string, matter, chain *string, codes []string, err error) {
	if m, err := s.q.MatterGet(ctx, tx, code); err == nil {
		return m.Name, &code, nil, []string{code}, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil, nil, err
	}
	chains, err := s.q.ChainList(ctx, tx)
	if err != nil {
		return "", nil, nil, nil, err
	}
	for _, ch := range chains {
		if ch.Code == code {
			return ch.Name, nil, &code, ch.Matters, nil
		}
	}
	return "", nil, nil, nil, daiban.Invalid("matter", "没有找到事项“%s”，请重新选择", code)
}

// Get returns a case with its details.
func (s *Service) Get(ctx context.Context, id int64) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: get case %d", id)
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return Case{}, err
	}
	defer tx.Rollback(ctx)
	return s.Load(ctx, tx, id)
}

// Load reads a case with its details inside tx.
func (s *Service) Load(ctx context.Context, db dbsqlc.DBTX, id int64) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: load case %d", id)
	row, err := s.q.CaseGet(ctx, db, id)
	if err != nil {
		return Case{}, daiban.NoRows(err, "案件不存在")
	}
	c, err := s.caseOf(row)
	if err != nil {
		return Case{}, err
	}
	mats, err := s.q.CaseMaterials(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.Materials = make([]Material, 0, len(mats))
	for _, m := range mats {
		c.Materials = append(c.Materials, Material{Code: m.Code, Name: m.Name, RequiredOriginal: m.RequiredOriginal, RequiredCount: int(m.RequiredCount), Received: m.Received, Original: m.Original, Pages: int(m.Pages), Holder: m.Holder})
	}
	escs, err := s.q.CaseEscalations(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.Escalations = []Escalation{}
	for _, e := range escs {
		x := Escalation{Level: e.Level, Authority: e.Authority, Tracker: e.Tracker, ReplyDue: e.ReplyDue.Format("2006-01-02"), Note: e.Note, CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, RepliedAt: e.RepliedAt}
		if e.Outcome != nil {
			x.Outcome = *e.Outcome
		}
		if e.ReplyNote != nil {
			x.ReplyNote = *e.ReplyNote
		}
		c.Escalations = append(c.Escalations, x)
		if e.RepliedAt == nil {
			cur := x
			c.Escalation = &cur
		}
	}
	items, err := s.q.HandoverItems(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.HandoverItems = []HandoverItem{}
	for _, it := range items {
		h := HandoverItem{ID: it.ID, Kind: it.Kind, Name: it.Name, Number: it.Number, Verified: it.Verified}
		if it.MaterialCode != nil {
			h.MaterialCode = *it.MaterialCode
		}
		c.HandoverItems = append(c.HandoverItems, h)
	}
	events, err := s.events(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.Timeline = timeline(events)
	moves, err := s.q.CustodyMoves(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.Custody = []CustodyMove{}
	for _, m := range moves {
		c.Custody = append(c.Custody, CustodyMove{Material: m.MaterialCode, From: m.FromHolder, To: m.ToHolder, Count: int(m.Count), Note: m.Note, Actor: m.Actor, At: m.At})
	}
	docs, err := s.q.DocumentsOfCase(ctx, db, id)
	if err != nil {
		return Case{}, err
	}
	c.Documents = []DocumentRef{}
	for _, d := range docs {
		c.Documents = append(c.Documents, DocumentRef{ID: d.ID, Kind: d.Kind, SHA256: hex.EncodeToString(d.Sha256), IssuedAt: *d.IssuedAt,
			AwaitingTimestamp: d.TimestampStatus != nil && *d.TimestampStatus == "awaiting"})
	}
	if r, err := s.q.CaseRectification(ctx, db, id); err == nil {
		c.Rectification = &Rectification{Source: r.Source, Rating: int(r.Rating), Comment: r.Comment, Status: r.Status, OpenedAt: r.OpenedAt, DueDate: r.DueDate.Format("2006-01-02"), ClosedAt: r.ClosedAt, Result: deref(r.Result)}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return Case{}, err
	}
	s.markProvisional(&c)
	return c, nil
}

// Scope returns what the authorizer needs to know of a case: its region and
// whether the user created it or is its handler.
func (s *Service) Scope(ctx context.Context, id int64, username string) (region string, own bool, err error) {
	r, err := s.q.CaseScope(ctx, s.pool, id)
	if err != nil {
		// Worded as the guard words a case outside the user's region.
		return "", false, daiban.NoRows(err, "%s", daiban.ErrorMessage(httpapi.ErrNotFound))
	}
	own = r.CreatedBy == username || (r.Assignee != nil && *r.Assignee == username)
	return r.Region, own, nil
}

// Filter selects cases for a list. Scope and OwnOnly come from the caller's
// role and region, never from the request.
type Filter struct {
	Scope    string
	OwnOnly  bool
	Username string
	State    string
	Region   string
	Matter   string
	Handler  string
	Overdue  bool
	Q        string
	Phone    string // the applicant's phone, exactly (spaces and dashes aside)
	IDNumber string // the applicant's ID number or credit code, exactly
	Before   int64
	Limit    int
}

// List returns one page of cases, newest first.
func (s *Service) List(ctx context.Context, f Filter) (_ []Case, err error) {
	defer daiban.Wrap(&err, "cases: list cases")
	p := dbsqlc.CaseListParams{Scope: f.Scope, OwnOnly: f.OwnOnly, Username: f.Username, Overdue: f.Overdue, Today: calendar.Date(s.Now()), Lim: int32(f.Limit)}
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	p.State, p.Region, p.Matter, p.Handler, p.Q = opt(f.State), opt(f.Region), opt(f.Matter), opt(f.Handler), opt(f.Q)
	if f.Phone != "" {
		p.PhoneIdx = s.pii.Indexes(pii.CasePhone, f.Phone)
	}
	if f.IDNumber != "" {
		p.IDNumberIdx = s.pii.Indexes(pii.CaseIDNumber, f.IDNumber)
	}
	if f.Before > 0 {
		p.Before = &f.Before
	}
	rows, err := s.q.CaseList(ctx, customPlans{s.pool}, p)
	if err != nil {
		return nil, err
	}
	out := make([]Case, 0, len(rows))
	for _, r := range rows {
		c, err := s.caseOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	for i := range out {
		s.markProvisional(&out[i])
	}
	return out, nil
}

// Track finds a case by its applicant tracking code with its timeline
// (the caller shows only the public notes).
func (s *Service) Track(ctx context.Context, code string) (_ Case, err error) {
	defer daiban.Wrap(&err, "cases: track case")
	if len(code) != trackingLen {
		return Case{}, daiban.Errorf(daiban.ENOTFOUND, "查询码不存在")
	}
	row, err := s.q.CaseByTrackingCode(ctx, s.pool, strings.ToUpper(code))
	if err != nil {
		return Case{}, daiban.NoRows(err, "查询码不存在")
	}
	c, err := s.caseOf(row)
	if err != nil {
		return Case{}, err
	}
	events, err := s.events(ctx, s.pool, c.ID)
	if err != nil {
		return Case{}, err
	}
	c.Timeline = timeline(events)
	s.markProvisional(&c)
	return c, nil
}

// Idem identifies a request that carried an Idempotency-Key.
type Idem struct {
	User string
	Key  string
	Hash []byte
}

// Stored is a response kept for an idempotent request.
type Stored struct {
	Status int
	Body   []byte
}

var errKeyReused = daiban.Invalid("Idempotency-Key", "这次提交与先前的另一项提交重复使用了同一个幂等键，请刷新页面后重试")

// InTx runs fn in one transaction. With idem, the response fn returns is
// stored in the same transaction under the key, and a repeat of the same
// request returns that first response without running fn again; a repeat
// racing the first waits for it to commit.
func (s *Service) InTx(ctx context.Context, idem *Idem, status int, fn func(tx pgx.Tx) (any, error)) (Stored, error) {
	var out Stored
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if idem != nil {
			_, err := s.q.IdempotencyClaim(ctx, tx, idem.User, idem.Key, idem.Hash)
			if errors.Is(err, pgx.ErrNoRows) {
				prev, err := s.q.IdempotencyGet(ctx, tx, idem.User, idem.Key)
				if err != nil {
					return err
				}
				if string(prev.RequestHash) != string(idem.Hash) {
					return errKeyReused
				}
				body, err := s.pii.Open(pii.IdempotentResponse, idemRow(idem.User, idem.Key), prev.Response)
				out = Stored{Status: int(prev.Status), Body: body}
				return err
			} else if err != nil {
				return err
			}
		}
		resp, err := fn(tx)
		if err != nil {
			return err
		}
		body, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		out = Stored{Status: status, Body: body}
		if idem != nil {
			// The response may show the applicant's numbers: it is sealed.
			sealed := s.pii.Seal(pii.IdempotentResponse, idemRow(idem.User, idem.Key), body)
			return s.q.IdempotencyStore(ctx, tx, dbsqlc.IdempotencyStoreParams{Status: int32(status), Response: sealed, Username: idem.User, Key: idem.Key})
		}
		return nil
	})
	return out, err
}

const (
	trackingAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // 32 symbols, no 0/O/1/I
	trackingLen      = 12                                 // 60 bits
)

func newTrackingCode() string {
	b := make([]byte, trackingLen)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = trackingAlphabet[b[i]%32]
	}
	return string(b)
}

func hardest(ms []dbsqlc.Matter) string {
	rank := map[string]int{"simple": 0, "general": 1, "complex": 2}
	best := "simple"
	for _, m := range ms {
		if rank[m.Complexity] > rank[best] {
			best = m.Complexity
		}
	}
	return best
}

// longest is a chain's promised limit: its matters run side by side, so
// the chain promises the longest of them.
func longest(ms []dbsqlc.Matter) int32 {
	var n int32
	for _, m := range ms {
		n = max(n, m.LimitDays)
	}
	return n
}

func invalidIfMissing(err error, field, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return daiban.Invalid(field, format, args...)
	}
	return err
}

func fromRow(r dbsqlc.Case) Case {
	c := Case{
		ID: r.ID, Number: r.Number, TrackingCode: r.TrackingCode, Region: r.Region, Channel: Channel(r.Channel),
		Title: r.Title, Matters: r.MatterCodes, Complexity: r.Complexity, LimitDays: int(r.LimitDays),
		Applicant: Applicant{Kind: r.ApplicantKind, Name: r.ApplicantName}, // numbers: caseOf
		Summary:   r.Summary, State: State(r.State), Version: int(r.Version), CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ClosedAt: r.ClosedAt, DelegatedAt: r.DelegatedAt,
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	c.MatterCode, c.ChainCode, c.Mode, c.Outcome, c.Assignee = str(r.MatterCode), str(r.ChainCode), str(r.Mode), str(r.Outcome), str(r.Assignee)
	c.PausedFrom = State(str(r.PausedFrom))
	c.RatingComment = str(r.RatingComment)
	if r.DueDate != nil {
		c.DueDate = r.DueDate.Format("2006-01-02")
	}
	if r.Rating != nil {
		c.Rating = int(*r.Rating)
	}
	return c
}
