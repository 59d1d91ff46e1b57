package pdf

import (
	"strconv"
	"strings"
)

// Building blocks of a government form: centred title, numbered headings
// and clauses, bordered tables with shaded label cells, signature boxes, a
// query/verification box with QR codes and the footer.

// title prints the document title centred, large and bold.
func (c *canvas) title(s string) {
	lh := sizeTitle * ptMM * 1.5
	c.ensure(lh)
	c.textIn(marginL, contentW, c.y, lh, s, sizeTitle, 'C', true)
	c.y += lh + 1
}

// metaRow prints a small line with one text on the left and one on the
// right (case number, date).
func (c *canvas) metaRow(left, right string) {
	lh := sizeBody * ptMM * 1.5
	c.ensure(2 * lh)
	if c.width(left, sizeBody)+c.width(right, sizeBody)+4 > contentW {
		// Too long for one line: one under the other.
		for _, l := range c.wrap(left, contentW, sizeBody) {
			c.textIn(marginL, contentW, c.y, lh, l, sizeBody, 'L', false)
			c.y += lh
		}
		c.textIn(marginL, contentW, c.y, lh, right, sizeBody, 'R', false)
		c.y += lh + 1
		return
	}
	c.textIn(marginL, contentW, c.y, lh, left, sizeBody, 'L', false)
	c.textIn(marginL, contentW, c.y, lh, right, sizeBody, 'R', false)
	c.y += lh + 1
}

// heading prints a section heading such as "一、协议双方", wrapped when
// long, kept with the first line of what follows.
func (c *canvas) heading(s string) {
	lh := sizeHeading * ptMM * 1.55
	lines := c.wrap(s, contentW, sizeHeading)
	c.ensure(float64(len(lines))*lh + 8)
	for _, ln := range lines {
		c.ensure(lh)
		c.textIn(marginL, contentW, c.y, lh, ln, sizeHeading, 'L', true)
		c.y += lh
	}
}

// paragraph prints wrapped body text; indent is the first-line indent of
// each paragraph in em (2 for 首行缩进两字).
func (c *canvas) paragraph(s string, size float64, indent float64) {
	if c.err != nil {
		return
	}
	lh := size * ptMM * lineSpacing
	in := indent * size * ptMM
	unit := size * ptMM / 1000
	for _, para := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		lines, err := c.r.fonts.wrapFirst(para, int((contentW-in)/unit), int(contentW/unit))
		if err != nil {
			c.fail(err)
			return
		}
		for i, ln := range lines {
			c.ensure(lh)
			x := marginL
			if i == 0 {
				x += in
			}
			c.text(x, baseline(c.y, lh, size), ln, size, false)
			c.y += lh
		}
	}
}

// clause prints a numbered clause with a hanging indent: the number sits in
// the margin column, wrapped lines align with the first character.
func (c *canvas) clause(num, s string, size float64) {
	lh := size * ptMM * lineSpacing
	hang := c.width("10．", size)
	x := marginL + 2*size*ptMM
	lines := c.wrap(s, contentW-(x-marginL)-hang, size)
	for i, ln := range lines {
		c.ensure(lh)
		if i == 0 {
			c.text(x, baseline(c.y, lh, size), num, size, false)
		}
		c.text(x+hang, baseline(c.y, lh, size), ln, size, false)
		c.y += lh
	}
}

// cell is one table cell.
type cell struct {
	text  string
	span  int  // columns spanned; 0 means 1
	label bool // shaded label cell (centred)
	align byte // 'L' (default), 'C', 'R'
	bold  bool
}

// table is a bordered grid; widths are column widths in mm summing to the
// content width. The header row is repeated after a page break.
type table struct {
	cols   []float64
	header []cell
	rows   [][]cell
	size   float64
}

// cols makes column widths from relative weights.
func cols(weights ...float64) []float64 {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	out := make([]float64, len(weights))
	for i, w := range weights {
		out[i] = contentW * w / sum
	}
	return out
}

type laidCell struct {
	cell
	x, w  float64
	lines []string
}

func (c *canvas) layRow(t *table, row []cell) ([]laidCell, float64) {
	size := t.size
	lh := size * ptMM * cellSpacing
	x := marginL
	col := 0
	h := lh + 2*cellPadY
	var out []laidCell
	for _, cl := range row {
		span := cl.span
		if span < 1 {
			span = 1
		}
		w := 0.0
		for k := 0; k < span && col+k < len(t.cols); k++ {
			w += t.cols[col+k]
		}
		col += span
		lines := c.wrap(cl.text, w-2*cellPadX, size)
		if hh := float64(len(lines))*lh + 2*cellPadY; hh > h {
			h = hh
		}
		out = append(out, laidCell{cell: cl, x: x, w: w, lines: lines})
		x += w
	}
	return out, h
}

func (c *canvas) drawRow(t *table, cells []laidCell, h float64) {
	size := t.size
	lh := size * ptMM * cellSpacing
	for _, cl := range cells {
		if cl.label {
			if c.drawing() {
				c.pdf.SetFillColor(0xEE, 0xEE, 0xEE)
			}
			c.rect(cl.x, c.y, cl.w, h, "FD")
		} else {
			c.rect(cl.x, c.y, cl.w, h, "D")
		}
		top := c.y + (h-float64(len(cl.lines))*lh)/2
		align := cl.align
		if align == 0 {
			align = 'L'
			if cl.label {
				align = 'C'
			}
		}
		for i, ln := range cl.lines {
			c.textIn(cl.x+cellPadX, cl.w-2*cellPadX, top+float64(i)*lh, lh, ln, size, align, cl.bold)
		}
	}
	c.y += h
}

// table draws t, breaking pages between rows.
func (c *canvas) table(t *table) {
	if t.size == 0 {
		t.size = sizeCell
	}
	var hdr []laidCell
	var hh float64
	if len(t.header) > 0 {
		hdr, hh = c.layRow(t, t.header)
	}
	for i, row := range t.rows {
		cells, h := c.layRow(t, row)
		need := h
		if i == 0 {
			need += hh
		}
		if c.y+need > contentBot {
			c.newPage()
		}
		if hdr != nil && (i == 0 || c.y == marginT) {
			c.drawRow(t, hdr, hh)
		}
		c.drawRow(t, cells, h)
	}
	if len(t.rows) == 0 && hdr != nil {
		c.ensure(hh)
		c.drawRow(t, hdr, hh)
	}
}

// signBox is one signature area: a label (wrapped if long), an optional
// small label left of the handwriting, the handwriting image (or a
// placeholder when not yet signed) and the date line.
type signBox struct {
	label    string
	sublabel string // e.g. "代办员签字："
	image    string // registered image name, "" when unsigned
	text     string // printed instead of the image when there is none
	date     string
}

// closing ends a document: the signature boxes and, after gap, the QR
// box, kept on one page so that no page carries only the codes. When the
// usual gaps (before, gap) would push them over the page but tight ones
// let them fit, the gaps shrink; otherwise both move to the next page
// together, and "（以下无正文）" closes the text on this one.
func (c *canvas) closing(before, gap float64, boxes []signBox, qr []qrItem) {
	const tight = 1.0
	sh, qh := c.signaturesHeight(boxes), c.qrBoxHeight(qr)
	if c.y+before+sh+gap+qh > contentBot && c.y+tight+sh+tight+qh <= contentBot {
		before, gap = tight, tight
	}
	c.space(before)
	c.signatures(boxes, gap+qh)
	c.space(gap)
	c.qrBox(qr)
}

// signaturesHeight is the height of the signature boxes.
func (c *canvas) signaturesHeight(boxes []signBox) float64 {
	_, _, h := c.signatureLabels(boxes)
	return h
}

// signatureLabels wraps the boxes' labels and returns them, the most lines
// a label takes and the boxes' height.
func (c *canvas) signatureLabels(boxes []signBox) ([][]string, int, float64) {
	lh := sizeCell * ptMM * cellSpacing
	w := contentW / float64(len(boxes))
	labels := make([][]string, len(boxes))
	nl := 1
	for i, b := range boxes {
		labels[i] = c.wrap(b.label, w-2*cellPadX, sizeCell)
		nl = max(nl, len(labels[i]))
	}
	return labels, nl, cellPadY + float64(nl)*lh + signatureImgH + lh + cellPadY
}

// signatureImgH is the height of a signature image in its box (mm).
const signatureImgH = 15.0

// signatures draws signature boxes side by side, kept together on a page
// with follow mm of what must come right after them. When they must move
// to the next page, "（以下无正文）" closes the text on this one, as usual
// for contracts.
func (c *canvas) signatures(boxes []signBox, follow float64) {
	const imgH = signatureImgH
	lh := sizeCell * ptMM * cellSpacing
	w := contentW / float64(len(boxes))
	labels, nl, h := c.signatureLabels(boxes)
	if c.y+h+follow > contentBot && marginT+h+follow <= contentBot {
		blh := sizeCell * ptMM * lineSpacing
		if c.y+blh <= contentBot {
			c.textIn(marginL, contentW, c.y, blh, "（以下无正文）", sizeCell, 'C', false)
		}
		c.newPage()
	} else if c.y+h > contentBot {
		c.newPage()
	}
	for i, b := range boxes {
		x := marginL + float64(i)*w
		c.rect(x, c.y, w, h, "D")
		top := c.y + cellPadY
		for j, ln := range labels[i] {
			c.textIn(x+cellPadX, w-2*cellPadX, top+float64(j)*lh, lh, ln, sizeCell, 'L', true)
		}
		top += float64(nl) * lh
		ix := x + cellPadX + 6
		if b.sublabel != "" {
			c.textIn(x+cellPadX, w, top+imgH/2-lh/2, lh, b.sublabel, sizeCell, 'L', false)
			ix = x + cellPadX + c.width(b.sublabel, sizeCell) + 2
		}
		if b.image != "" {
			c.image(b.image, ix, top, x+w-cellPadX-6-ix, imgH)
		} else if b.text != "" {
			c.textIn(ix, x+w-cellPadX-ix, top+imgH/2-lh/2, lh, b.text, sizeCell, 'L', false)
		} else {
			c.textIn(ix, x+w-cellPadX-ix, top+imgH/2-lh/2, lh, "（待签字）", sizeSmall, 'C', false)
		}
		top += imgH
		c.textIn(x+cellPadX, w-2*cellPadX, top, lh, b.date, sizeCell, 'R', false)
	}
	c.y += h
}

// sealLine prints the issuing center with the e-seal note and the date,
// right-aligned, as a stamp block at the end of a form.
func (c *canvas) sealLine(center, date string) {
	lh := sizeBody * ptMM * 1.6
	lines := c.wrap(center+"（电子签章）", contentW*0.6, sizeBody)
	c.ensure(float64(len(lines)+1) * lh)
	for _, ln := range lines {
		c.textIn(marginL, contentW, c.y, lh, ln, sizeBody, 'R', true)
		c.y += lh
	}
	c.textIn(marginL, contentW, c.y, lh, date, sizeBody, 'R', false)
	c.y += lh
}

// qrItem is one QR code with its caption and explanation.
type qrItem struct {
	bits    [][]bool
	caption string   // under the code
	lines   []string // explanation to the right (each wrapped)
}

// qrBox draws QR codes side by side in one bordered box, kept together.
// The codes keep a quiet zone of about four modules inside the box.
func (c *canvas) qrBox(items []qrItem) {
	const q = qrSide
	const qrPad = 2.5
	size := sizeSmall
	lh := size * ptMM * 1.45
	w := contentW / float64(len(items))
	wrapped, h := c.qrBoxLayout(items)
	c.ensure(h)
	for i, it := range items {
		x := marginL + float64(i)*w
		c.rect(x, c.y, w, h, "D")
		c.qr(it.bits, x+qrPad, c.y+qrPad, q)
		c.textIn(x+qrPad, q, c.y+qrPad+q, lh, it.caption, size, 'C', false)
		ty := c.y + (h-float64(len(wrapped[i]))*lh)/2
		for j, ln := range wrapped[i] {
			c.text(x+q+qrPad+cellPadX, baseline(ty+float64(j)*lh, lh, size), ln, size, false)
		}
	}
	c.y += h
}

// qrSide is the side of a printed QR code (mm).
const qrSide = 19.0

// qrBoxHeight is the height of the QR box of items.
func (c *canvas) qrBoxHeight(items []qrItem) float64 {
	_, h := c.qrBoxLayout(items)
	return h
}

// qrBoxLayout wraps the items' explanations and returns them with the
// box's height.
func (c *canvas) qrBoxLayout(items []qrItem) ([][]string, float64) {
	const qrPad = 2.5
	size := sizeSmall
	lh := size * ptMM * 1.45
	w := contentW / float64(len(items))
	textW := w - qrSide - qrPad - 2*cellPadX
	h := qrPad + qrSide + lh + cellPadY
	wrapped := make([][]string, len(items))
	for i, it := range items {
		for _, l := range it.lines {
			wrapped[i] = append(wrapped[i], c.wrap(l, textW, size)...)
		}
		if th := float64(len(wrapped[i]))*lh + 2*cellPadY; th > h {
			h = th
		}
	}
	return wrapped, h
}

// footer: a rule, the issuing center on the left, the case number in the
// middle and "第 X 页 共 Y 页" on the right.
func footer(center, label, caseNo string) func(c *canvas) {
	if label == "" {
		label = "案件编号"
	}
	return func(c *canvas) {
		if c.drawing() {
			c.pdf.SetLineWidth(0.2)
			c.pdf.SetDrawColor(0x66, 0x66, 0x66)
		}
		c.line(marginL, footerRuleY, pageW-marginR, footerRuleY)
		if c.drawing() {
			c.pdf.SetDrawColor(0, 0, 0)
			c.pdf.SetLineWidth(borderWidth)
		}
		lh := sizeSmall * ptMM * 1.5
		y := footerRuleY + 1
		total := c.pages
		if total < c.page {
			total = c.page
		}
		pages := pageLabel(c.page, total)
		mid := ""
		if caseNo != "" {
			mid = label + "：" + caseNo
		}
		left := center
		// Keep the three parts apart: drop the middle, then shorten the
		// left, when they would collide.
		half := contentW / 2
		if mid != "" && (c.width(left, sizeSmall)+3 > half-c.width(mid, sizeSmall)/2 || c.width(pages, sizeSmall)+3 > half-c.width(mid, sizeSmall)/2) {
			mid = ""
		}
		if lines := c.wrap(left, contentW-c.width(pages, sizeSmall)-6, sizeSmall); len(lines) > 1 {
			left = lines[0] + "…"
		}
		c.textIn(marginL, contentW, y, lh, left, sizeSmall, 'L', false)
		if mid != "" {
			c.textIn(marginL, contentW, y, lh, mid, sizeSmall, 'C', false)
		}
		c.textIn(marginL, contentW, y, lh, pages, sizeSmall, 'R', false)
	}
}

func pageLabel(page, total int) string {
	return "第 " + strconv.Itoa(page) + " 页 共 " + strconv.Itoa(total) + " 页"
}
