package pdf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/jung-kurt/gofpdf"
)

// Page geometry (mm, A4 portrait).
const (
	pageW        = 210.0
	pageH        = 297.0
	marginL      = 20.0
	marginR      = 20.0
	marginT      = 15.0
	contentW     = pageW - marginL - marginR
	contentBot   = pageH - 18.5 // content must end above this line
	footerRuleY  = pageH - 16.0
	ptMM         = 25.4 / 72.0
	sizeBody     = 10.5
	sizeCell     = 10.0
	sizeSmall    = 8.5
	sizeHeading  = 11.5
	sizeTitle    = 20.0
	cellPadX     = 1.8
	cellPadY     = 1.1
	lineSpacing  = 1.5  // line height / font size, paragraphs
	cellSpacing  = 1.45 // line height / font size, table cells
	borderWidth  = 0.25
	boldStroke   = 0.18 // stroke width of faux bold (mm)
	pdfPointsPMM = 72.0 / 25.4
)

// canvas lays a document out twice: first measuring (pdf == nil), which
// collects every character printed and counts the pages, then drawing into
// gofpdf with fonts cut to exactly those characters. Layout code is written
// once and runs in both passes, so both agree on every line break.
type canvas struct {
	r     *Renderer
	pdf   *gofpdf.Fpdf      // nil while measuring
	used  map[rune]glyphRef // every character printed (filled while measuring)
	pua   []map[rune]uint16 // per face: non-BMP character → private-use code
	page  int               // current page (1-based)
	pages int               // total pages (known in the drawing pass)
	y     float64           // current vertical position
	err   error             // first error; every method is a no-op after it
	foot  func(c *canvas)   // draws the footer of the current page
	imgs  map[string][2]int // registered images: pixel sizes
	// same maps an image to the first name its exact bytes were
	// registered under: gofpdf names an XObject by its content, so two
	// registrations of one PNG (agent and applicant signing with the
	// same strokes) would write one resource key twice.
	same  map[string]string
	named map[string]string // an image's bytes → the first name it came under
	runs  func(face, text string)
}

func (c *canvas) fail(err error) {
	if c.err == nil && err != nil {
		c.err = err
	}
}

func (c *canvas) drawing() bool { return c.pdf != nil && c.err == nil }

// newPage closes the current page (footer) and starts the next.
func (c *canvas) newPage() {
	if c.err != nil {
		return
	}
	if c.page > 0 && c.foot != nil {
		c.foot(c)
	}
	c.page++
	if c.drawing() {
		c.pdf.AddPage()
	}
	c.y = marginT
}

// finish draws the last footer.
func (c *canvas) finish() {
	if c.page > 0 && c.foot != nil && c.err == nil {
		c.foot(c)
	}
}

// ensure starts a new page unless h mm still fit above the bottom margin.
func (c *canvas) ensure(h float64) {
	if c.y+h > contentBot {
		c.newPage()
	}
}

func (c *canvas) space(h float64) {
	c.y += h
	if c.y > contentBot {
		c.newPage()
	}
}

// width of s in mm at size pt.
func (c *canvas) width(s string, size float64) float64 {
	w, err := c.r.fonts.measure(s)
	if err != nil {
		c.fail(err)
		return 0
	}
	return float64(w) * size / 1000 * ptMM
}

// wrap breaks s into lines at most maxW mm wide at size pt.
func (c *canvas) wrap(s string, maxW, size float64) []string {
	if c.err != nil {
		return nil
	}
	max := int(maxW / (size * ptMM) * 1000)
	lines, err := c.r.fonts.wrap(s, max)
	if err != nil {
		c.fail(err)
		return nil
	}
	return lines
}

// text prints s with its baseline at (x, base). Characters are grouped in
// runs of one face; each run is printed with its own SetFont and Text, and
// a non-BMP character is printed through its private-use code inside an
// /ActualText span.
func (c *canvas) text(x, base float64, s string, size float64, bold bool) {
	if c.err != nil || s == "" {
		return
	}
	if c.pdf == nil { // measuring: remember the characters
		c.measureText(s)
		return
	}
	if bold {
		c.pdf.SetLineWidth(boldStroke)
		c.pdf.RawWriteStr("2 Tr")
	}
	runs, ok := c.textRuns(s)
	if !ok {
		return
	}
	for _, rn := range runs {
		c.printRun(x, base, rn, size)
		x += float64(rn.w) * size / 1000 * ptMM
	}
	if bold {
		c.pdf.RawWriteStr("0 Tr")
		c.pdf.SetLineWidth(borderWidth)
	}
}

// measureText records the glyph of every character of s (measuring pass).
func (c *canvas) measureText(s string) {
	for _, r := range s {
		if r == '\t' {
			r = ' '
		}
		g, ok := c.r.fonts.lookup(r)
		if !ok {
			c.fail(fmt.Errorf("no font covers %q (U+%04X)", r, r))
			return
		}
		c.used[r] = g
	}
}

// textRun is a stretch of characters printed in one face; a character
// outside the BMP is a run of its own, printed through its private-use
// code with actual as its text.
type textRun struct {
	face   int
	text   []rune
	actual rune
	w      int
}

// textRuns groups s into runs of one face. It fails the canvas (ok false)
// on a character the measuring pass did not see.
func (c *canvas) textRuns(s string) (runs []textRun, ok bool) {
	for _, r := range s {
		if r == '\t' {
			r = ' '
		}
		g, ok := c.used[r]
		if !ok {
			c.fail(fmt.Errorf("internal: character %q was not measured", r))
			return nil, false
		}
		face := int(g.face)
		if r > 0xFFFF {
			if c.r.naive {
				c.fail(fmt.Errorf("naive mode cannot print %q (outside the BMP)", r))
				return nil, false
			}
			runs = append(runs, textRun{face: face, text: []rune{rune(c.pua[face][r])}, actual: r, w: int(g.w)})
			continue
		}
		if n := len(runs); n > 0 && runs[n-1].face == face && runs[n-1].actual == 0 {
			runs[n-1].text = append(runs[n-1].text, r)
			runs[n-1].w += int(g.w)
			continue
		}
		runs = append(runs, textRun{face: face, text: []rune{r}, w: int(g.w)})
	}
	return runs, true
}

// printRun prints one run at (x, base), inside an /ActualText span when
// it stands for a character outside the BMP.
func (c *canvas) printRun(x, base float64, rn textRun, size float64) {
	c.pdf.SetFont(faceFamily(rn.face), "", size)
	if rn.actual != 0 {
		var hex strings.Builder
		hex.WriteString("FEFF")
		for _, u := range utf16.Encode([]rune{rn.actual}) {
			fmt.Fprintf(&hex, "%04X", u)
		}
		c.pdf.RawWriteStr("/Span <</ActualText <" + hex.String() + ">>> BDC")
	}
	c.pdf.Text(x, base, string(rn.text))
	if rn.actual != 0 {
		c.pdf.RawWriteStr("EMC")
	}
	if c.runs != nil {
		t := string(rn.text)
		if rn.actual != 0 {
			t = string(rn.actual)
		}
		c.runs(c.r.fonts.faces[rn.face].name, t)
	}
}

// baseline of a line box of height lh starting at top, for text of size pt:
// the ideographic em box is centred in the box.
func baseline(top, lh, size float64) float64 {
	return top + lh/2 + 0.36*size*ptMM
}

// textIn prints one line aligned ('L', 'C', 'R') within [x, x+w].
func (c *canvas) textIn(x, w, top, lh float64, s string, size float64, align byte, bold bool) {
	switch align {
	case 'C':
		x += (w - c.width(s, size)) / 2
	case 'R':
		x += w - c.width(s, size)
	}
	c.text(x, baseline(top, lh, size), s, size, bold)
}

func (c *canvas) rect(x, y, w, h float64, style string) {
	if c.drawing() {
		c.pdf.Rect(x, y, w, h, style)
	}
}

func (c *canvas) line(x1, y1, x2, y2 float64) {
	if c.drawing() {
		c.pdf.Line(x1, y1, x2, y2)
	}
}

// image places a registered PNG scaled to fit a w×h box, centred
// vertically and aligned left.
func (c *canvas) image(name string, x, y, w, h float64) {
	if first, ok := c.same[name]; ok {
		name = first
	}
	px, ok := c.imgs[name]
	if !ok || px[0] == 0 || px[1] == 0 {
		return
	}
	iw, ih := w, w*float64(px[1])/float64(px[0])
	if ih > h {
		ih, iw = h, h*float64(px[0])/float64(px[1])
	}
	if c.drawing() {
		c.pdf.ImageOptions(name, x, y+(h-ih)/2, iw, ih, false, gofpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
}

// registerImage makes a PNG available under name (both passes need its
// size; only the drawing pass embeds it).
func (c *canvas) registerImage(name string, png []byte) {
	if len(png) < 24 {
		return
	}
	w := int(binary.BigEndian.Uint32(png[16:]))
	h := int(binary.BigEndian.Uint32(png[20:]))
	c.imgs[name] = [2]int{w, h}
	if first, ok := c.named[string(png)]; ok && first != name {
		if c.same == nil {
			c.same = map[string]string{}
		}
		c.same[name] = first
		return
	}
	if c.named == nil {
		c.named = map[string]string{}
	}
	c.named[string(png)] = name
	if c.drawing() {
		c.pdf.RegisterImageOptionsReader(name, gofpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
		if err := c.pdf.Error(); err != nil {
			c.fail(fmt.Errorf("image %s: %w", name, err))
		}
	}
}

// qr draws a QR bitmap as filled squares (one path), size mm wide.
func (c *canvas) qr(bits [][]bool, x, y, size float64) {
	if !c.drawing() || len(bits) == 0 {
		return
	}
	m := size / float64(len(bits))
	k := pdfPointsPMM
	var b strings.Builder
	for row, line := range bits {
		for col := 0; col < len(line); {
			if !line[col] {
				col++
				continue
			}
			end := col
			for end < len(line) && line[end] {
				end++
			}
			fmt.Fprintf(&b, "%.3f %.3f %.3f %.3f re ", (x+float64(col)*m)*k, (pageH-(y+float64(row)*m))*k, float64(end-col)*m*k, -m*k)
			col = end
		}
	}
	b.WriteString("f")
	c.pdf.SetFillColor(0, 0, 0)
	c.pdf.RawWriteStr(b.String())
}

func faceFamily(i int) string { return fmt.Sprintf("f%d", i) }

// prepareFonts runs between the passes: it assigns private-use codes to
// non-BMP characters and adds one font per face used to the PDF — cut to
// the document's characters, or (naive mode) the whole font file.
func (c *canvas) prepareFonts() {
	if c.err != nil {
		return
	}
	n := len(c.r.fonts.faces)
	c.pua = make([]map[rune]uint16, n)
	entries := make([][]cmapEntry, n)
	runes := make([]rune, 0, len(c.used))
	for r := range c.used {
		runes = append(runes, r)
	}
	sort.Slice(runes, func(i, j int) bool { return runes[i] < runes[j] })
	for _, r := range runes {
		g := c.used[r]
		f := int(g.face)
		code := r
		if r > 0xFFFF {
			if c.pua[f] == nil {
				c.pua[f] = map[rune]uint16{}
			}
			code = rune(0xE000 + len(c.pua[f]))
			if code > 0xF8FF {
				c.fail(fmt.Errorf("too many characters outside the BMP"))
				return
			}
			c.pua[f][r] = uint16(code)
		}
		entries[f] = append(entries[f], cmapEntry{code: uint16(code), gid: g.gid})
	}
	for f := 0; f < n; f++ {
		if len(entries[f]) == 0 {
			continue
		}
		// Never hand gofpdf the mapped font data: it appends into the
		// slices it is given (padding checksums), which would fault on the
		// read-only mapping and race between documents.
		if c.r.naive {
			// What a straightforward gofpdf program does (AddUTF8Font with
			// the file): read, parse and subset the whole font each time.
			data, err := os.ReadFile(c.r.fonts.faces[f].path)
			if err != nil {
				c.fail(err)
				return
			}
			c.pdf.AddUTF8FontFromBytes(faceFamily(f), "", data)
		} else {
			data, err := c.r.fonts.faces[f].subset(entries[f])
			if err != nil {
				c.fail(fmt.Errorf("subset %s: %w", c.r.fonts.faces[f].name, err))
				return
			}
			c.pdf.AddUTF8FontFromBytes(faceFamily(f), "", data)
		}
		if err := c.pdf.Error(); err != nil {
			c.fail(err)
			return
		}
	}
}
