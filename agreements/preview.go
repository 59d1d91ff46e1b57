package agreements

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/sql/dbsqlc"
)

// The tablet shows the draft as the pages of the PDF that will be sealed:
// the same renderer and data as the sealed document (renderSigned), with
// the signatures given so far and today's date, turned into images.
const (
	// PreviewDPI makes an A4 page 1323 px wide: legible at the width of a
	// 1024 px tablet, sharper when the applicant zooms in.
	PreviewDPI      = 160
	maxPreviewPages = 12
	// previewTimeout bounds rendering and conversion together.
	previewTimeout = 45 * time.Second
	// previewCacheSize is how many drafts' pages are kept in memory.
	previewCacheSize = 16
)

// PreviewPages renders (or finds rendered) the draft a live signing link
// signs and returns its page count. The link is checked first: nothing is
// rendered for a token that is not a live link to a draft.
func (s *Service) PreviewPages(ctx context.Context, token string) (_ int, err error) {
	defer daiban.Wrap(&err, "agreements: preview pages")
	pages, err := s.preview(ctx, token)
	return len(pages), err
}

// PreviewPage returns page n (from 1) of the draft a live link signs, as a
// PNG image.
func (s *Service) PreviewPage(ctx context.Context, token string, n int) (_ []byte, err error) {
	defer daiban.Wrap(&err, "agreements: preview page %d", n)
	if n < 1 || n > maxPreviewPages {
		// Refuse before any lookup or rendering.
		return nil, daiban.Errorf(daiban.ENOTFOUND, "该页不存在")
	}
	pages, err := s.preview(ctx, token)
	if err != nil {
		return nil, err
	}
	if n > len(pages) {
		return nil, daiban.Errorf(daiban.ENOTFOUND, "该页不存在")
	}
	return pages[n-1], nil
}

func (s *Service) preview(ctx context.Context, token string) ([][]byte, error) {
	in, err := s.previewInputs(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.pages.get(ctx, in.key, func(ctx context.Context) ([][]byte, error) {
		doc, err := s.renderSigned(ctx, previewCase(in.c), in.d, in.sigs, in.now)
		if err != nil {
			return nil, err
		}
		return s.render.Images(ctx, doc, PreviewDPI, maxPreviewPages)
	})
}

// previewInput is what a draft's pages are drawn from.
type previewInput struct {
	c    cases.Case
	d    dbsqlc.Document
	sigs map[string]dbsqlc.Signature
	now  time.Time
	key  string // the cache key of the pages
}

// previewInputs reads the draft a live link signs, with its signatures.
func (s *Service) previewInputs(ctx context.Context, token string) (previewInput, error) {
	var in previewInput
	l, err := s.link(ctx, s.pool, token, false)
	if err != nil {
		return in, err
	}
	if in.d, err = s.q.DocumentGet(ctx, s.pool, l.DocumentID); err != nil {
		return in, err
	}
	if in.d.Status != "draft" {
		return in, errLink
	}
	if in.c, err = s.cases.Get(ctx, in.d.CaseID); err != nil {
		return in, err
	}
	sigs, err := s.q.SignaturesOf(ctx, s.pool, in.d.ID)
	if err != nil {
		return in, err
	}
	in.now = s.Now()
	// The pages change with the case (its version), the signatures given
	// and the date printed; the verification code names the document in
	// every database.
	key := []string{in.d.VerifyCode, fmt.Sprint(in.c.Version), in.now.In(cst).Format("2006-01-02")}
	in.sigs = map[string]dbsqlc.Signature{}
	for _, sg := range sigs {
		in.sigs[sg.Role] = sg
		key = append(key, sg.Role+"@"+fmt.Sprint(sg.SignedAt.UnixNano()))
	}
	sort.Strings(key[3:])
	in.key = strings.Join(key, "/")
	if _, ok := in.sigs["agent"]; !ok && in.d.Kind == KindAgreement {
		// Not signed yet: the agent who drafted it is named, the box empty.
		in.sigs["agent"] = dbsqlc.Signature{Role: "agent", Signer: in.d.CreatedBy}
	}
	return in, nil
}

// previewCase is the case as the tablet's pages show it: the document to
// be sealed, except that the ID number's last four characters — what the
// applicant types to confirm the signature — are hidden too, so that the
// pages, which anyone holding the link can open, do not give the answer.
func previewCase(c cases.Case) cases.Case {
	if id := c.Applicant.IDNumber; len(id) > 8 {
		c.Applicant.IDNumber = id[:len(id)-4] + "****"
	}
	return c
}

// PreviewPDF is the document the tablet's pages are drawn from, for a
// live link (tests read its text).
func (s *Service) PreviewPDF(ctx context.Context, token string) ([]byte, error) {
	in, err := s.previewInputs(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.renderSigned(ctx, previewCase(in.c), in.d, in.sigs, in.now)
}

var cst = time.FixedZone("CST", 8*3600)

// pageCache keeps the rendered pages of the newest drafts. The page and
// its images ask at once: the first asker renders, the others wait for
// that result, so a draft is rendered once. Its zero value is ready.
type pageCache struct {
	mu      sync.Mutex
	entries map[string]*pageEntry
	order   []string // oldest first
}

type pageEntry struct {
	ready chan struct{}
	pages [][]byte
	err   error
}

func (pc *pageCache) get(ctx context.Context, key string, render func(context.Context) ([][]byte, error)) ([][]byte, error) {
	pc.mu.Lock()
	e, ok := pc.entries[key]
	if !ok {
		if pc.entries == nil {
			pc.entries = map[string]*pageEntry{}
		}
		e = &pageEntry{ready: make(chan struct{})}
		pc.entries[key] = e
		pc.order = append(pc.order, key)
		for len(pc.order) > previewCacheSize {
			delete(pc.entries, pc.order[0])
			pc.order = pc.order[1:]
		}
	}
	pc.mu.Unlock()
	if !ok {
		// Render apart from this request, so the others waiting for the
		// same pages are not failed by this one going away.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), previewTimeout)
		e.pages, e.err = render(rctx)
		cancel()
		close(e.ready)
		if e.err != nil {
			pc.drop(key, e)
		}
	}
	select {
	case <-e.ready:
		return e.pages, e.err
	case <-ctx.Done():
		return nil, daiban.Errorf(daiban.EUNAVAILABLE, "文书预览生成超时，请稍后刷新页面")
	}
}

// drop forgets a failed rendering so the next request tries again.
func (pc *pageCache) drop(key string, e *pageEntry) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.entries[key] != e {
		return
	}
	delete(pc.entries, key)
	for i, k := range pc.order {
		if k == key {
			pc.order = append(pc.order[:i], pc.order[i+1:]...)
			break
		}
	}
}
