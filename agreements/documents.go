// Package agreements is the document workflow of a case: it issues,
// signs, seals and verifies the one-time notice, the delegation agreement
// and the handover receipt. A draft collects handwritten signatures (the
// applicant's through a one-time signing link on the counter tablet); once
// every signature is in, the PDF is rendered and sealed with the center's
// key (package agreements/pdf), recorded in the ledger by its SHA-256 and
// the case moves on, all in one transaction. Verification (verify.go) and
// the HTTP handlers (http.go) are here too.
package agreements

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/policies/pii"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// Kinds of documents (contract).
const (
	KindNotice    = "notice"
	KindAgreement = "agreement"
	KindReceipt   = "receipt"
)

// KindNames are the documents' Chinese titles.
var KindNames = map[string]string{KindNotice: "一次告知单", KindAgreement: "代办服务委托协议书", KindReceipt: "签收单", KindApplication: "一件事联合申请表"}

// Signing links live 30 minutes and allow five wrong ID checks.
const (
	LinkTTL     = 30 * time.Minute
	MaxFailures = 5
)

// Document is a sealed document as listed on its case.
type Document struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	SHA256     string    `json:"sha256"`
	IssuedAt   time.Time `json:"issued_at"`
	VerifyCode string    `json:"verify_code"`
	// AwaitingTimestamp: sealed while the TSA did not answer (see
	// TimestampJobs).
	AwaitingTimestamp bool `json:"awaiting_timestamp"`
}

// Service runs the documents of cases.
type Service struct {
	pool    *pgxpool.Pool
	q       *dbsqlc.Queries
	cases   *cases.Service
	catalog *catalog.Store
	users   *users.Service
	render  *pdf.Renderer
	sealer  *pdf.Sealer
	ledger  *ledger.Log
	center  pdf.Center
	keys    *pii.Keys // seal the signing links' tokens (LiveLink)
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Codes sends the applicant's one-time code for a posted delivery
	// (cases.LogCodeSender when nil).
	Codes cases.CodeSender
	// pages are the drafts' pages rendered for the tablet (preview.go).
	pages pageCache
	// guides are the public guides' PDFs already rendered (guide.go).
	guides guideCache
}

// NewService returns a Service.
func NewService(pool *pgxpool.Pool, cs *cases.Service, cat *catalog.Store, us *users.Service, r *pdf.Renderer, s *pdf.Sealer, l *ledger.Log, center pdf.Center, keys *pii.Keys) *Service {
	return &Service{pool: pool, q: dbsqlc.New(), cases: cs, catalog: cat, users: us, render: r, sealer: s, ledger: l, center: center, keys: keys, Now: time.Now}
}

// Sealer returns the center's sealer (its root certificate is public).
func (s *Service) Sealer() *pdf.Sealer { return s.sealer }

// List returns the sealed documents of a case.
func (s *Service) List(ctx context.Context, caseID int64) (_ []Document, err error) {
	defer daiban.Wrap(&err, "agreements: list documents of case %d", caseID)
	rows, err := s.q.DocumentsOfCase(ctx, s.pool, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]Document, 0, len(rows))
	for _, r := range rows {
		out = append(out, Document{ID: r.ID, Kind: r.Kind, SHA256: hex.EncodeToString(r.Sha256), IssuedAt: *r.IssuedAt, VerifyCode: r.VerifyCode,
			AwaitingTimestamp: r.TimestampStatus != nil && *r.TimestampStatus == "awaiting"})
	}
	return out, nil
}

// PDF returns a sealed document's bytes and the case it belongs to.
func (s *Service) PDF(ctx context.Context, id int64) (_ []byte, _ Document, err error) {
	defer daiban.Wrap(&err, "agreements: read document %d", id)
	d, err := s.q.DocumentGet(ctx, s.pool, id)
	if err != nil || d.Status != "sealed" {
		return nil, Document{}, daiban.Errorf(daiban.ENOTFOUND, "文书不存在或尚未盖章")
	}
	return d.Pdf, Document{ID: d.ID, Kind: d.Kind, SHA256: servedSHA(d.Sha256, d.StampedSha256), IssuedAt: *d.IssuedAt, VerifyCode: d.VerifyCode}, nil
}

// servedSHA is the hash of the file served now: the sealed file's, or
// the one completed by a document timestamp.
func servedSHA(sealed, stamped []byte) string {
	if stamped != nil {
		return hex.EncodeToString(stamped)
	}
	return hex.EncodeToString(sealed)
}

// CaseOf returns the case a document belongs to.
func (s *Service) CaseOf(ctx context.Context, docID int64) (int64, error) {
	d, err := s.q.DocumentGet(ctx, s.pool, docID)
	if err != nil {
		return 0, daiban.NoRows(err, "%s", daiban.ErrorMessage(httpapi.ErrNotFound))
	}
	return d.CaseID, nil
}

// IssueNotice renders and seals the one-time notice (一次告知单) of a case:
// every required material, the time limit and where to go. Asked again
// for a case whose notice still holds, it returns that notice instead of
// sealing a copy; and one user seals at most NoticesPerMinute notices a
// minute (notice.go).
func (s *Service) IssueNotice(ctx context.Context, a cases.Actor, caseID int64) (_ Document, err error) {
	defer daiban.Wrap(&err, "agreements: issue notice for case %d", caseID)
	var out Document
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		c, found, err := s.currentNotice(ctx, tx, a, caseID)
		if err != nil || found != nil {
			if found != nil {
				out = *found
			}
			return err
		}
		doc, err := s.newDocument(ctx, tx, a, c.ID, KindNotice)
		if err != nil {
			return err
		}
		matters, err := s.matterInfo(ctx, c)
		if err != nil {
			return err
		}
		docPDF, err := s.render.NoticeCtx(ctx, pdf.NoticeData{
			CaseNumber: c.Number, Title: c.Title, Matters: matters, ApplicantName: c.Applicant.Name,
			IssuedAt: s.Now(), VerifyCode: doc.VerifyCode, TrackingCode: c.TrackingCode,
		})
		if err != nil {
			return err
		}
		out, err = s.seal(ctx, tx, a.Username, c, doc, docPDF)
		return err
	})
	return out, err
}

// DraftAgreement starts the delegation agreement of a case awaiting it:
// earlier drafts and their links are voided, and a one-time signing link
// for the applicant is returned.
func (s *Service) DraftAgreement(ctx context.Context, a cases.Actor, caseID int64) (_ int64, _ string, err error) {
	defer daiban.Wrap(&err, "agreements: draft agreement for case %d", caseID)
	return s.draft(ctx, a, caseID, KindAgreement, cases.AgreementPending)
}

// StartHandover records the agent's verification of every handover item
// and drafts the receipt for the applicant to sign.
func (s *Service) StartHandover(ctx context.Context, a cases.Actor, caseID int64, verified map[int64]bool) (_ int64, _ string, err error) {
	defer daiban.Wrap(&err, "agreements: start handover of case %d", caseID)
	var docID int64
	var url string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := s.cases.VerifyHandoverTx(ctx, tx, a, caseID, verified); err != nil {
			return err
		}
		var err error
		docID, url, err = s.draftTx(ctx, tx, a, caseID, KindReceipt, cases.ReadyForHandover)
		return err
	})
	return docID, url, err
}

func (s *Service) draft(ctx context.Context, a cases.Actor, caseID int64, kind string, want cases.State) (int64, string, error) {
	var docID int64
	var url string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		docID, url, err = s.draftTx(ctx, tx, a, caseID, kind, want)
		return err
	})
	return docID, url, err
}

func (s *Service) draftTx(ctx context.Context, tx pgx.Tx, a cases.Actor, caseID int64, kind string, want cases.State) (int64, string, error) {
	c, err := s.cases.Load(ctx, tx, caseID)
	if err != nil {
		return 0, "", err
	}
	if c.State != want {
		return 0, "", daiban.Errorf(daiban.EINVALIDTRANSITION, "案件处于「%s」状态，不能生成%s", cases.StateNames[c.State], KindNames[kind])
	}
	if err := s.q.DocumentVoidDrafts(ctx, tx, caseID, kind); err != nil {
		return 0, "", err
	}
	doc, err := s.newDocument(ctx, tx, a, caseID, kind)
	if err != nil {
		return 0, "", err
	}
	token, err := s.newLink(ctx, tx, a, doc.ID)
	if err != nil {
		return 0, "", err
	}
	_, err = ledger.Append(ctx, tx, ledger.Meta{Actor: a.Username, CaseID: c.ID, Region: c.Region, Type: "document.drafted"},
		map[string]any{"number": c.Number, "document_id": doc.ID, "kind": kind})
	return doc.ID, "/sign/" + token, err
}

// NewSigningLink issues a fresh applicant link for a draft (the old one
// expired or was voided), voiding any other open link of the draft.
func (s *Service) NewSigningLink(ctx context.Context, a cases.Actor, caseID int64, kind string) (_ int64, _ string, err error) {
	defer daiban.Wrap(&err, "agreements: new %s signing link for case %d", kind, caseID)
	var docID int64
	var url string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := s.currentDraft(ctx, tx, caseID, kind)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := s.q.SignLinksVoidForDocument(ctx, tx, &now, d.ID); err != nil {
			return err
		}
		token, err := s.newLink(ctx, tx, a, d.ID)
		docID, url = d.ID, "/sign/"+token
		return err
	})
	return docID, url, err
}

// draftQuery finds the id of a case's newest draft of a kind.
const draftQuery = "SELECT id FROM documents WHERE case_id = $1 AND kind = $2 AND status = 'draft' ORDER BY id DESC LIMIT 1"

func (s *Service) currentDraft(ctx context.Context, tx pgx.Tx, caseID int64, kind string) (dbsqlc.Document, error) {
	id, err := draftID(ctx, tx, caseID, kind)
	if err != nil {
		return dbsqlc.Document{}, err
	}
	return s.q.DocumentGetForUpdate(ctx, tx, id)
}

// draftID finds the case's newest draft of kind; none is an invalid
// transition (the document must be drawn up first).
func draftID(ctx context.Context, db dbsqlc.DBTX, caseID int64, kind string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, draftQuery, caseID, kind).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, daiban.Errorf(daiban.EINVALIDTRANSITION, "没有待签署的%s，请先生成", KindNames[kind])
	}
	return id, err
}

// Draft tells where the case's current draft of a kind stands: which
// signatures are in. It is not_found when the case has no draft of that
// kind (none yet, or already sealed).
func (s *Service) Draft(ctx context.Context, caseID int64, kind string) (_ Status, err error) {
	defer daiban.Wrap(&err, "agreements: draft %s of case %d", kind, caseID)
	var id int64
	if err := s.pool.QueryRow(ctx, draftQuery, caseID, kind).Scan(&id); err != nil {
		return Status{}, daiban.NoRows(err, "没有待签署的%s", KindNames[kind])
	}
	sigs, err := s.q.SignaturesOf(ctx, s.pool, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{DocumentID: id, Kind: kind}
	for _, sg := range sigs {
		st.Signed = append(st.Signed, sg.Role)
	}
	return st, nil
}

// AgentSign stores the signed-in agent's own signature on the case's draft
// agreement and seals it when the applicant has signed too. The image's
// header and the draft are checked before the image is decoded, and the
// decoding waits for a rendering slot.
func (s *Service) AgentSign(ctx context.Context, a cases.Actor, caseID int64, png []byte) (_ Status, err error) {
	defer daiban.Wrap(&err, "agreements: agent %s signs for case %d", a.Username, caseID)
	if err := pdf.CheckSignature(png); err != nil {
		return Status{}, err
	}
	if _, err := draftID(ctx, s.pool, caseID, KindAgreement); err != nil {
		return Status{}, err
	}
	img, err := s.render.Signature(ctx, png)
	if err != nil {
		return Status{}, err
	}
	var st Status
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := s.currentDraft(ctx, tx, caseID, KindAgreement)
		if err != nil {
			return err
		}
		st, err = s.addSignature(ctx, tx, a.Username, d, "agent", a.Username, img)
		return err
	})
	return st, err
}

// Status tells where a draft stands after a signature.
type Status struct {
	DocumentID int64     `json:"document_id"`
	Kind       string    `json:"kind"`
	Signed     []string  `json:"signed"`
	Sealed     bool      `json:"sealed"`
	Document   *Document `json:"document,omitempty"`
	CaseState  string    `json:"case_state"`
}

func (s *Service) required(kind string) []string {
	if kind == KindAgreement {
		return []string{"applicant", "agent"}
	}
	return []string{"applicant"}
}

// addSignature stores one signature (a ledger event) and, when the draft is
// complete, seals it and moves the case on.
func (s *Service) addSignature(ctx context.Context, tx pgx.Tx, actor string, d dbsqlc.Document, role, signer string, img []byte) (Status, error) {
	if d.Status != "draft" {
		return Status{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "该文书已盖章或已作废")
	}
	now := s.Now()
	if err := s.q.SignatureUpsert(ctx, tx, dbsqlc.SignatureUpsertParams{DocumentID: d.ID, Role: role, Signer: signer, ImagePng: img, SignedAt: now}); err != nil {
		return Status{}, err
	}
	c, err := s.cases.Load(ctx, tx, d.CaseID)
	if err != nil {
		return Status{}, err
	}
	sum := sha256.Sum256(img)
	if _, err := ledger.Append(ctx, tx, ledger.Meta{Actor: actor, CaseID: c.ID, Region: c.Region, Type: "document.signed"},
		map[string]any{"number": c.Number, "document_id": d.ID, "kind": d.Kind, "role": role, "signer": signer, "image_sha256": hex.EncodeToString(sum[:])}); err != nil {
		return Status{}, err
	}
	sigs, err := s.q.SignaturesOf(ctx, tx, d.ID)
	if err != nil {
		return Status{}, err
	}
	byRole := map[string]dbsqlc.Signature{}
	st := Status{DocumentID: d.ID, Kind: d.Kind, CaseState: string(c.State)}
	for _, sg := range sigs {
		byRole[sg.Role] = sg
		st.Signed = append(st.Signed, sg.Role)
	}
	for _, r := range s.required(d.Kind) {
		if _, ok := byRole[r]; !ok {
			return st, nil
		}
	}
	docPDF, err := s.renderSigned(ctx, c, d, byRole, now)
	if err != nil {
		return Status{}, err
	}
	doc, err := s.seal(ctx, tx, actor, c, d, docPDF)
	if err != nil {
		return Status{}, err
	}
	extra := map[string]any{"document_id": d.ID, "sha256": doc.SHA256}
	a := cases.Actor{Username: actor}
	var next cases.Case
	if d.Kind == KindAgreement {
		next, err = s.cases.SignedAgreementTx(ctx, tx, a, c.ID, extra)
	} else {
		next, err = s.cases.HandedOverTx(ctx, tx, a, c.ID, extra)
	}
	if err != nil {
		return Status{}, err
	}
	st.Sealed, st.Document, st.CaseState = true, &doc, string(next.State)
	return st, nil
}

func (s *Service) renderSigned(ctx context.Context, c cases.Case, d dbsqlc.Document, sigs map[string]dbsqlc.Signature, now time.Time) ([]byte, error) {
	if d.Kind == KindAgreement {
		agent, err := s.users.Get(ctx, sigs["agent"].Signer)
		if err != nil {
			return nil, err
		}
		matters, err := s.matterInfo(ctx, c)
		if err != nil {
			return nil, err
		}
		var received []pdf.ReceivedMaterial
		for _, m := range c.Materials {
			if m.Received {
				received = append(received, pdf.ReceivedMaterial{Name: m.Name, Original: m.Original, Pages: m.Pages})
			}
		}
		return s.render.AgreementCtx(ctx, pdf.AgreementData{
			CaseNumber: c.Number, TrackingCode: c.TrackingCode, Title: c.Title, Matters: matters,
			Applicant: pdf.Party{Kind: c.Applicant.Kind, Name: c.Applicant.Name, IDMasked: cases.MaskID(c.Applicant.IDNumber), PhoneMasked: cases.MaskPhone(c.Applicant.Phone)},
			Agent:     pdf.Agent{Name: agent.Name, Username: agent.Username},
			Materials: received, LimitDays: c.LimitDays,
			ApplicantSignature: sigs["applicant"].ImagePng, AgentSignature: sigs["agent"].ImagePng,
			SignedAt: now, VerifyCode: d.VerifyCode,
		})
	}
	return s.renderReceipt(ctx, c, d, sigs["applicant"].ImagePng, false, now)
}

// renderReceipt renders a handover receipt with the applicant's signature
// (or, byCarrier, the carrier's signed proof of a posted delivery); a
// posted delivery is stated on it.
func (s *Service) renderReceipt(ctx context.Context, c cases.Case, d dbsqlc.Document, img []byte, byCarrier bool, now time.Time) ([]byte, error) {
	var items []pdf.ReceiptItem
	for _, it := range c.HandoverItems {
		items = append(items, pdf.ReceiptItem{Kind: it.Kind, Name: it.Name, Number: it.Number, Verified: it.Verified})
	}
	agentName := d.CreatedBy
	if u, err := s.users.Get(ctx, d.CreatedBy); err == nil {
		agentName = u.Name
	}
	dv, err := s.cases.DeliveryOf(ctx, s.pool, c.ID)
	if err != nil {
		return nil, err
	}
	var post *pdf.ReceiptPost
	if dv.Method == cases.ByPost {
		post = &pdf.ReceiptPost{Carrier: dv.Carrier, Waybill: dv.Waybill, ByCarrier: byCarrier}
	}
	return s.render.ReceiptCtx(ctx, pdf.ReceiptData{
		CaseNumber: c.Number, Title: c.Title, ApplicantName: c.Applicant.Name, Items: items, AgentName: agentName,
		ApplicantSignature: img, SignedAt: now, VerifyCode: d.VerifyCode, Post: post,
	})
}

// seal signs the PDF with the center's key (PAdES, see pdf.Sealer), records
// its SHA-256 in the ledger and stores it as sealed. Every kind of
// document is sealed here. When the TSA does not answer the document is
// sealed all the same and marked as awaiting its timestamp.
func (s *Service) seal(ctx context.Context, tx pgx.Tx, actor string, c cases.Case, d dbsqlc.Document, docPDF []byte) (Document, error) {
	now := s.Now()
	res, err := s.sealer.SealDocument(ctx, docPDF, now)
	if err != nil {
		return Document{}, fmt.Errorf("盖章失败: %w", err)
	}
	sealed := res.PDF
	sum := sha256.Sum256(sealed)
	hexSum := hex.EncodeToString(sum[:])
	payload := map[string]any{"number": c.Number, "document_id": d.ID, "kind": d.Kind, "sha256": hexSum, "verify_code": d.VerifyCode,
		"seal_serial": res.Serial, "timestamp": tsPayload(res)}
	entry, err := ledger.Append(ctx, tx, ledger.Meta{Actor: actor, CaseID: c.ID, Region: c.Region, Type: "document.sealed"}, payload)
	if err != nil {
		return Document{}, err
	}
	if err := s.q.DocumentSeal(ctx, tx, dbsqlc.DocumentSealParams{Pdf: sealed, Sha256: sum[:], IssuedAt: &now, LedgerEntry: &entry, ID: d.ID}); err != nil {
		return Document{}, err
	}
	if err := s.q.DocumentSealInfo(ctx, tx, sealInfoParams(d.ID, res)); err != nil {
		return Document{}, err
	}
	return Document{ID: d.ID, Kind: d.Kind, SHA256: hexSum, IssuedAt: now, VerifyCode: d.VerifyCode, AwaitingTimestamp: res.AwaitingTimestamp()}, nil
}

func (s *Service) newDocument(ctx context.Context, tx pgx.Tx, a cases.Actor, caseID int64, kind string) (dbsqlc.Document, error) {
	return s.q.DocumentInsert(ctx, tx, dbsqlc.DocumentInsertParams{CaseID: caseID, Kind: kind, VerifyCode: randomCode(10), CreatedBy: a.Username, CreatedAt: s.Now()})
}

func (s *Service) newLink(ctx context.Context, tx pgx.Tx, a cases.Actor, docID int64) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	now := s.Now()
	enc := s.keys.SealString(pii.SignLinkToken, strconv.FormatInt(docID, 10), token)
	return token, s.q.SignLinkInsert(ctx, tx, dbsqlc.SignLinkInsertParams{TokenHash: h[:], DocumentID: docID, CreatedBy: a.Username, CreatedAt: now, ExpiresAt: now.Add(LinkTTL), TokenEnc: enc})
}

// LiveLink returns the signing page of a draft's live link ("" when none),
// so the agent's page can show it again after a reload without voiding
// it. Only the case's agents see that page.
func (s *Service) LiveLink(ctx context.Context, docID int64) (_ string, err error) {
	defer daiban.Wrap(&err, "agreements: live signing link of document %d", docID)
	rows, err := s.q.SignLinkLive(ctx, s.pool, docID, s.Now())
	if err != nil || len(rows) == 0 {
		return "", err
	}
	token, err := s.keys.OpenString(pii.SignLinkToken, strconv.FormatInt(docID, 10), rows[0].TokenEnc)
	if err != nil {
		return "", nil // sealed under a retired key: the agent makes a new link
	}
	return "/sign/" + token, nil
}

func (s *Service) matterInfo(ctx context.Context, c cases.Case) ([]pdf.MatterInfo, error) {
	var out []pdf.MatterInfo
	for _, code := range c.Matters {
		m, err := s.catalog.Get(ctx, code)
		if err != nil {
			return nil, err
		}
		mi := pdf.MatterInfo{Name: m.Name, Department: m.Department, Level: catalog.Level(m.Level).Name(), LimitDays: m.LimitDays, Where: m.Where}
		for _, x := range m.Materials {
			mi.Materials = append(mi.Materials, pdf.MaterialInfo{Name: x.Name, Original: x.Original, Count: x.Count})
		}
		out = append(out, mi)
	}
	return out, nil
}

// SignInfo is what the signing page shows before the applicant signs.
type SignInfo struct {
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	CaseNumber  string    `json:"case_number"`
	Matter      string    `json:"matter"`
	Applicant   string    `json:"applicant"`
	ExpiresAt   time.Time `json:"expires_at"`
	Attempts    int       `json:"attempts_left"`
	DocumentID  int64     `json:"document_id"`
	Items       []string  `json:"items,omitempty"`
	Materials   []string  `json:"materials,omitempty"`
	LimitDays   int       `json:"limit_days"`
	CenterName  string    `json:"center"`
	AgentSigned bool      `json:"agent_signed"`
	// Confirm is what the applicant types to confirm, by the kind of
	// document the case was registered with.
	Confirm Confirmation `json:"confirm"`
}

var errLink = daiban.Errorf(daiban.ENOTFOUND, "签署链接无效、已使用或已过期，请让工作人员重新生成")

// link finds a live link by its token.
func (s *Service) link(ctx context.Context, db dbsqlc.DBTX, token string, lock bool) (dbsqlc.SignLink, error) {
	if token == "" || len(token) > 64 {
		return dbsqlc.SignLink{}, errLink
	}
	h := sha256.Sum256([]byte(token))
	var l dbsqlc.SignLink
	var err error
	if lock {
		l, err = s.q.SignLinkGetForUpdate(ctx, db, h[:])
	} else {
		l, err = s.q.SignLinkGet(ctx, db, h[:])
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return l, errLink
	} else if err != nil {
		return l, err
	}
	if l.UsedAt != nil || l.VoidedAt != nil || !s.Now().Before(l.ExpiresAt) {
		return l, errLink
	}
	return l, nil
}

// SignInfo describes the document a live link signs.
func (s *Service) SignInfo(ctx context.Context, token string) (_ SignInfo, err error) {
	defer daiban.Wrap(&err, "agreements: look up signing link")
	l, err := s.link(ctx, s.pool, token, false)
	if err != nil {
		return SignInfo{}, err
	}
	d, err := s.q.DocumentGet(ctx, s.pool, l.DocumentID)
	if err != nil {
		return SignInfo{}, err
	}
	if d.Status != "draft" {
		return SignInfo{}, errLink
	}
	c, err := s.cases.Get(ctx, d.CaseID)
	if err != nil {
		return SignInfo{}, err
	}
	info := SignInfo{Kind: d.Kind, Title: KindNames[d.Kind], CaseNumber: c.Number, Matter: c.Title, Applicant: cases.MaskName(c.Applicant.Name),
		ExpiresAt: l.ExpiresAt, Attempts: MaxFailures - int(l.Failures), DocumentID: d.ID, LimitDays: c.LimitDays, CenterName: s.center.Name,
		Confirm: ConfirmationFor(c.Applicant.Kind)}
	for _, m := range c.Materials {
		if m.Received {
			kind := "复印件"
			if m.Original {
				kind = "原件"
			}
			info.Materials = append(info.Materials, fmt.Sprintf("%s（%s，%d 页）", m.Name, kind, m.Pages))
		}
	}
	for _, it := range c.HandoverItems {
		info.Items = append(info.Items, strings.TrimSpace(it.Name+" "+it.Number))
	}
	sigs, err := s.q.SignaturesOf(ctx, s.pool, d.ID)
	if err != nil {
		return SignInfo{}, err
	}
	for _, sg := range sigs {
		info.AgentSigned = info.AgentSigned || sg.Role == "agent"
	}
	return info, nil
}

// CheckLink reports whether token is a live signing link (errLink, a
// 404, when not). It is one indexed read: the signing endpoint asks it
// before reading the request's body.
func (s *Service) CheckLink(ctx context.Context, token string) error {
	_, err := s.link(ctx, s.pool, token, false)
	return err
}

// Sign takes the applicant's signature through a one-time link. The last
// four characters of the applicant's ID number must match; every wrong try
// is counted, the fifth voids the link. The work is ordered cheapest
// first, so nobody without a live link and the right ID number can make
// the server decode an image: the image's header (the handler has looked
// the link up before reading the body, CheckLink), the link and the ID
// check (counted under the link's row lock), and only then the decoding,
// under the renderer's bound.
func (s *Service) Sign(ctx context.Context, token string, png []byte, idLast4 string) (_ Status, err error) {
	defer daiban.Wrap(&err, "agreements: applicant signs through a link")
	idLast4 = strings.ToUpper(strings.TrimSpace(idLast4))
	if len(idLast4) != 4 {
		return Status{}, daiban.Invalid("id_last4", "请输入身份证号码（或统一社会信用代码）的后四位")
	}
	if err := pdf.CheckSignature(png); err != nil {
		return Status{}, err
	}
	if err := s.confirm(ctx, token, idLast4); err != nil {
		return Status{}, err
	}
	img, err := s.render.Signature(ctx, png)
	if err != nil {
		return Status{}, err
	}
	var st Status
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := s.link(ctx, tx, token, true)
		if err != nil {
			return err
		}
		d, err := s.q.DocumentGetForUpdate(ctx, tx, l.DocumentID)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := s.q.SignLinkUse(ctx, tx, &now, l.TokenHash); err != nil {
			return err
		}
		st, err = s.addSignature(ctx, tx, "applicant", d, "applicant", "applicant", img)
		return err
	})
	return st, err
}

// confirm checks the ID number's last four characters against the
// link's case with the link's row locked, and counts a wrong try in the
// same transaction, before the lock is released: concurrent tries queue
// on the lock and each sees the count the one before it left, so no more
// than MaxFailures are ever checked (after the last the link is void and
// the rest are refused as dead links).
func (s *Service) confirm(ctx context.Context, token, idLast4 string) error {
	var n int32
	var conf Confirmation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := s.link(ctx, tx, token, true)
		if err != nil {
			return err
		}
		d, err := s.q.DocumentGet(ctx, tx, l.DocumentID)
		if err != nil {
			return err
		}
		c, err := s.cases.Load(ctx, tx, d.CaseID)
		if err != nil {
			return err
		}
		// Characters the rule cannot accept are refused without counting
		// (they tell nothing); a well-formed wrong answer counts.
		conf = ConfirmationFor(c.Applicant.Kind)
		if err := conf.Check(idLast4, c.Applicant.IDNumber); !errors.Is(err, errWrongID) {
			return err
		}
		n, err = s.q.SignLinkFail(ctx, tx, s.Now(), l.TokenHash)
		return err
	})
	switch {
	case err != nil:
		return err
	case n >= MaxFailures:
		return daiban.Invalid("id_last4", "%s连续 %d 次错误，签署链接已作废，请让工作人员重新生成", conf.Label, MaxFailures)
	case n > 0:
		return daiban.Invalid("id_last4", "%s不正确，还可尝试 %d 次", conf.Label, MaxFailures-int(n))
	}
	return nil
}

// errWrongID is a well-formed confirmation that does not match the
// registered number (Confirmation.Check): it counts against the link.
var errWrongID = errors.New("wrong id_last4")

const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func randomCode(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = codeAlphabet[b[i]%32]
	}
	return string(b)
}
