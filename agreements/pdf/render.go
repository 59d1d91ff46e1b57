package pdf

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jung-kurt/gofpdf"
	"github.com/skip2/go-qrcode"

	"github.com/daiban/daiban"
)

// Center is the issuing government service center printed on every
// document.
type Center struct {
	Name    string // e.g. "沂源县政务服务中心"
	Address string
	Phone   string
	BaseURL string // public base URL for QR codes, e.g. "http://127.0.0.1:8080"
}

// Renderer turns document data into PDF bytes. It is safe for concurrent
// use; see Pool for how many documents render at once.
type Renderer struct {
	fonts  *Fonts
	center Center

	mu  sync.Mutex
	sem chan struct{} // one token per document rendering

	naive   bool // benchmark only: embed whole font files, as plain gofpdf does
	runHook func(face, text string)
}

// cst is the time zone documents print dates in (China Standard Time).
var cst = time.FixedZone("CST", 8*3600)

// NewRenderer returns a renderer for center's documents. It refuses a
// center whose texts cannot be printed or whose BaseURL is not an absolute
// http(s) URL.
func NewRenderer(f *Fonts, center Center) (*Renderer, error) {
	if f == nil {
		return nil, daiban.Errorf(daiban.EINTERNAL, "未加载字体，无法生成文书")
	}
	center.Name = strings.TrimSpace(center.Name)
	center.BaseURL = strings.TrimRight(strings.TrimSpace(center.BaseURL), "/")
	if center.Name == "" {
		return nil, daiban.Invalid("center.name", "请填写政务服务中心名称")
	}
	for _, fv := range []struct{ field, v string }{
		{"center.name", center.Name}, {"center.address", center.Address}, {"center.phone", center.Phone},
	} {
		if err := checkText(f, fv.field, fv.v, 100); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(center.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, daiban.Invalid("center.base_url", "二维码地址应为 http:// 或 https:// 开头的完整网址，例如 http://127.0.0.1:8080")
	}
	r := &Renderer{fonts: f, center: center}
	r.Pool(runtime.GOMAXPROCS(0))
	return r, nil
}

// Pool bounds how many documents render at the same time (n < 1 means
// GOMAXPROCS). Rendering is CPU-bound, so n = GOMAXPROCS keeps a burst of
// documents from starving request handling; callers beyond n wait, and the
// *Ctx methods and Do give up waiting when their context ends. Documents
// already rendering finish under the old bound.
func (r *Renderer) Pool(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	r.mu.Lock()
	r.sem = make(chan struct{}, n)
	r.mu.Unlock()
}

// Do runs fn once a rendering slot is free, or returns an EUNAVAILABLE
// error when ctx ends first. Use it to put other CPU-heavy document work
// (e.g. Sealer.Seal) under the same bound.
func (r *Renderer) Do(ctx context.Context, fn func()) error {
	r.mu.Lock()
	sem := r.sem
	r.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return daiban.Errorf(daiban.EUNAVAILABLE, "文书生成繁忙，请稍后重试")
	}
	defer func() { <-sem }()
	if err := ctx.Err(); err != nil {
		return daiban.Errorf(daiban.EUNAVAILABLE, "文书生成繁忙，请稍后重试")
	}
	fn()
	return nil
}

// docMeta describes a document for the PDF info dictionary and footer.
type docMeta struct {
	title  string
	caseNo string
	// codeLabel names caseNo in the footer (案件编号 when "").
	codeLabel string
	created   time.Time
}

// render lays the document out twice (measure, then draw) and returns the
// PDF. images are PNGs by name, made available to layout in both passes.
func (r *Renderer) render(ctx context.Context, meta docMeta, images map[string][]byte, layout func(c *canvas)) ([]byte, error) {
	var out []byte
	var rerr error
	err := r.Do(ctx, func() {
		out, rerr = r.renderNow(meta, images, layout)
	})
	if err != nil {
		return nil, err
	}
	return out, rerr
}

// renderNow runs both passes of render.
func (r *Renderer) renderNow(meta docMeta, images map[string][]byte, layout func(c *canvas)) ([]byte, error) {
	foot := footer(r.center.Name, meta.codeLabel, meta.caseNo)
	names := make([]string, 0, len(images))
	for name := range images {
		names = append(names, name)
	}
	sort.Strings(names)

	m, err := r.measure(foot, names, images, layout)
	if err != nil {
		return nil, err
	}

	// Pass 2: draw.
	pdf := r.newPDF(meta)
	c := &canvas{r: r, pdf: pdf, used: m.used, foot: foot, pages: m.page, imgs: map[string][2]int{}, runs: r.runHook}
	c.prepareFonts()
	for _, name := range names {
		c.registerImage(name, images[name])
	}
	c.newPage()
	if c.drawing() {
		pdf.SetDrawColor(0, 0, 0)
		pdf.SetLineWidth(borderWidth)
	}
	layout(c)
	c.finish()
	if c.err != nil {
		return nil, fmt.Errorf("render: %w", c.err)
	}
	if c.page != m.page {
		return nil, fmt.Errorf("render: page count changed between passes (%d/%d)", m.page, c.page)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return tagSubsets(buf.Bytes())
}

// measure is the first pass: it collects every character the document
// prints and counts its pages.
func (r *Renderer) measure(foot func(c *canvas), names []string, images map[string][]byte, layout func(c *canvas)) (*canvas, error) {
	m := &canvas{r: r, used: make(map[rune]glyphRef, 512), foot: foot, imgs: map[string][2]int{}}
	for _, name := range names {
		m.registerImage(name, images[name])
	}
	m.newPage()
	layout(m)
	m.finish()
	m.text(0, 0, "0123456789…", sizeSmall, false) // page numbers of any total, footer ellipsis
	if m.err != nil {
		return nil, fmt.Errorf("layout: %w", m.err)
	}
	return m, nil
}

// newPDF returns an empty A4 document with meta's information dictionary.
func (r *Renderer) newPDF(meta docMeta) *gofpdf.Fpdf {
	pdf := gofpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	created := meta.created
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetTitle(meta.title, true)
	pdf.SetAuthor(r.center.Name, true)
	pdf.SetCreator("daiban", false)
	pdf.SetProducer("daiban agreements (gofpdf)", false)
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(borderWidth)
	return pdf
}

// qr returns the center's URL for path+code and its QR code bitmap.
func (r *Renderer) qr(path, code string) (string, [][]bool, error) {
	u := r.center.BaseURL + path + code
	bits, err := qrBits(u)
	if err != nil {
		return "", nil, daiban.Errorf(daiban.EINTERNAL, "二维码生成失败")
	}
	return u, bits, nil
}

// qrBits encodes s as a QR code bitmap (no quiet zone; the box provides
// the margin).
func qrBits(s string) ([][]bool, error) {
	q, err := qrcode.New(s, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}

// date formats a time as a Chinese date in China Standard Time.
func date(t time.Time) string {
	if t.IsZero() {
		return "    年  月  日"
	}
	t = t.In(cst)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}
