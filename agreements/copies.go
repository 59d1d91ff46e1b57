package agreements

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/skip2/go-qrcode"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The applicant's copy: after signing on the tablet the applicant gets a
// download link for the sealed PDF, shown as a QR code for a phone. No
// sign-in: the random token is the key, kept only as its hash (like the
// signing links); it lives one day and works CopyUses times.
const (
	CopyTTL  = 24 * time.Hour
	CopyUses = 5
	// CopyPath is where the links live: CopyPath + token.
	CopyPath = "/copy/"
)

// CopyLink is a fresh download link for the applicant's copy.
type CopyLink struct {
	// URL is the link's path on this server (CopyPath + token).
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   int       `json:"max_uses"`
}

var errCopy = daiban.Errorf(daiban.ENOTFOUND, "下载链接无效、已过期或已达下载次数上限，请向工作人员索取文书")

// NewCopyLink makes a download link for the applicant's copy of a document
// the applicant has just signed (the document may wait for the agent's
// signature: the link serves it once it is sealed). Links expired for a
// day are cleared on the way.
func (s *Service) NewCopyLink(ctx context.Context, documentID int64) (_ CopyLink, err error) {
	defer daiban.Wrap(&err, "agreements: copy link for document %d", documentID)
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return CopyLink{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	now := s.Now()
	l := CopyLink{URL: CopyPath + token, ExpiresAt: now.Add(CopyTTL), MaxUses: CopyUses}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.q.CopyLinksPurge(ctx, tx, now.Add(-CopyTTL)); err != nil {
			return err
		}
		return s.q.CopyLinkInsert(ctx, tx, dbsqlc.CopyLinkInsertParams{
			TokenHash: h[:], DocumentID: documentID, CreatedAt: now, ExpiresAt: l.ExpiresAt, MaxUses: CopyUses,
		})
	})
	return l, err
}

// copyHash checks a token's shape before any lookup and returns its hash.
func copyHash(token string) ([]byte, bool) {
	if len(token) != 32 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	return h[:], true
}

// CopyPDF serves the sealed PDF through a download link and counts the
// use. A live link whose document waits for the agent's signature says
// so, and that look is not counted.
func (s *Service) CopyPDF(ctx context.Context, token string) (_ []byte, _ Document, err error) {
	defer daiban.Wrap(&err, "agreements: applicant's copy")
	h, ok := copyHash(token)
	if !ok {
		return nil, Document{}, errCopy
	}
	now := s.Now()
	r, err := s.q.CopyLinkUse(ctx, s.pool, h, now)
	if err == nil {
		return r.Pdf, Document{ID: r.ID, Kind: r.Kind, SHA256: servedSHA(r.Sha256, r.StampedSha256)}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, Document{}, err
	}
	l, err := s.q.CopyLinkGet(ctx, s.pool, h)
	if err == nil && l.Status == "draft" && l.Uses < l.MaxUses && now.Before(l.ExpiresAt) {
		return nil, Document{}, daiban.Errorf(daiban.EINVALIDTRANSITION, "文书尚未盖章生效：工作人员签名后即可下载，请稍后再试")
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, Document{}, err
	}
	return nil, Document{}, errCopy
}

// CopyQR returns a QR code (PNG) of a live download link's address at the
// center's public base URL, for the applicant's phone.
func (s *Service) CopyQR(ctx context.Context, token string) (_ []byte, err error) {
	defer daiban.Wrap(&err, "agreements: copy link QR code")
	h, ok := copyHash(token)
	if !ok {
		return nil, errCopy
	}
	l, err := s.q.CopyLinkGet(ctx, s.pool, h)
	if err != nil {
		return nil, daiban.NoRows(err, "%s", daiban.ErrorMessage(errCopy))
	}
	if l.Status == "void" || l.Uses >= l.MaxUses || !s.Now().Before(l.ExpiresAt) {
		return nil, errCopy
	}
	return qrcode.Encode(strings.TrimRight(s.center.BaseURL, "/")+CopyPath+token, qrcode.Medium, 320)
}

// signResponse is the applicant's signature as the API answers it, with
// the download link of the applicant's copy.
type signResponse struct {
	Status
	// Copy is absent when no link could be made: the signature stands,
	// and the agent prints the copy instead.
	Copy *CopyLink `json:"copy,omitempty"`
}

// withCopy adds a download link to a signature just given.
func (h *Handler) withCopy(c echo.Context, st Status) signResponse {
	l, err := h.svc.NewCopyLink(c.Request().Context(), st.DocumentID)
	if err != nil {
		slog.Default().Error("copy link", "request_id", httpapi.RequestID(c), "document", st.DocumentID, "err", err.Error())
		return signResponse{Status: st}
	}
	return signResponse{Status: st, Copy: &l}
}
