package pdf

import (
	"math"
	"strconv"
)

// Bar charts of the monthly report, drawn with the canvas's rectangles,
// lines and text so that they take part in both layout passes.

// chartSeries is one series of a bar chart.
type chartSeries struct {
	name   string
	color  [3]int
	vals   []float64
	valid  []bool // nil: every value is shown; false: no bar, "—"
	format func(float64) string
}

// niceScale returns the axis maximum and tick step for values up to max:
// steps of 1, 2 or 5 times a power of ten, about four ticks, integers.
func niceScale(max float64) (top, step float64) {
	if max <= 0 {
		return 1, 1
	}
	raw := max / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if step < 1 {
		step = 1
	}
	top = step * math.Ceil(max/step)
	return top, step
}

func (c *canvas) fill(rgb [3]int) {
	if c.drawing() {
		c.pdf.SetFillColor(rgb[0], rgb[1], rgb[2])
	}
}

func (c *canvas) stroke(gray int, width float64) {
	if c.drawing() {
		c.pdf.SetDrawColor(gray, gray, gray)
		c.pdf.SetLineWidth(width)
	}
}

// chartCaption prints a chart's caption centred, and a legend under it
// when there is more than one series.
func (c *canvas) chartCaption(caption string, series []chartSeries) {
	lh := sizeBody * ptMM * 1.5
	c.textIn(marginL, contentW, c.y, lh, caption, sizeBody, 'C', true)
	c.y += lh
	if len(series) < 2 {
		return
	}
	sl := sizeSmall * ptMM * 1.5
	w := 0.0
	for _, s := range series {
		w += 4 + 1.5 + c.width(s.name, sizeSmall) + 5
	}
	x := marginL + (contentW-w)/2
	for _, s := range series {
		c.fill(s.color)
		c.rect(x, c.y+sl/2-1.5, 4, 3, "F")
		x += 5.5
		c.textIn(x, c.width(s.name, sizeSmall), c.y, sl, s.name, sizeSmall, 'L', false)
		x += c.width(s.name, sizeSmall) + 5
	}
	c.y += sl
}

// hbarChart draws a horizontal bar chart: one group of bars per label (one
// bar per series), the label left of the group, each value right of its
// bar, a value axis with grid lines under it. max fixes the axis maximum
// (0: from the data). The chart is kept on one page.
func (c *canvas) hbarChart(caption string, labels []string, series []chartSeries, max float64, percentAxis bool) {
	if c.err != nil || len(labels) == 0 || len(series) == 0 {
		return
	}
	h := c.newHBars(labels, series)
	c.ensure(h.headH + float64(len(labels))*h.groupH + hbarAxisH + 2)
	c.chartCaption(caption, series)
	c.y += 1

	h.top, h.step = max, max/5
	if max <= 0 {
		h.top, h.step = niceScale(seriesMax(series))
	}
	h.x0 = marginL + h.labelW + 2
	h.plotW = contentW - h.labelW - 2 - hbarValueW
	h.y0 = c.y
	h.plotH = float64(len(labels)) * h.groupH
	c.hbarGrid(h, percentAxis)
	for i, l := range labels {
		gy := h.y0 + float64(i)*h.groupH + hbarGap/2
		c.textIn(marginL, h.labelW, gy, float64(len(series))*h.barH, l, sizeSmall, 'R', false)
		for k, s := range series {
			c.hbar(h, s, i, gy+float64(k)*h.barH)
		}
	}
	// Axis lines.
	c.stroke(0x33, 0.25)
	c.line(h.x0, h.y0, h.x0, h.y0+h.plotH)
	c.line(h.x0, h.y0+h.plotH, h.x0+h.plotW, h.y0+h.plotH)
	c.stroke(0, borderWidth)
	c.y = h.y0 + h.plotH + hbarAxisH
}

// Horizontal bar chart spacing, mm.
const (
	hbarGap    = 1.6  // between groups
	hbarValueW = 14.0 // for the value right of the longest bar
	hbarAxisH  = 6.0  // for the tick labels under the plot
)

// hbars is the geometry of one horizontal bar chart.
type hbars struct {
	labelW, headH, barH, groupH float64
	top, step                   float64 // axis maximum and tick step
	x0, y0, plotW, plotH        float64
}

// newHBars sizes the labels, the caption and the bars of a chart.
func (c *canvas) newHBars(labels []string, series []chartSeries) *hbars {
	h := &hbars{}
	for _, l := range labels {
		h.labelW = math.Max(h.labelW, c.width(l, sizeSmall))
	}
	h.labelW = math.Min(h.labelW+1, 42)
	h.headH = sizeBody * ptMM * 1.5
	if len(series) > 1 {
		h.headH += sizeSmall * ptMM * 1.5
	}
	// Bars 3.4 mm high; thinner (down to 2.2 mm) when that keeps the
	// chart on the current page, and thinner still when even a whole page
	// is too short.
	fit := func(avail float64) float64 {
		return (avail/float64(len(labels)) - hbarGap) / float64(len(series))
	}
	h.barH = 3.4
	if here := fit(contentBot - c.y - h.headH - hbarAxisH - 2); here < h.barH && here >= 2.2 {
		h.barH = here
	}
	if page := fit(contentBot - marginT - h.headH - hbarAxisH - 2); page < h.barH {
		h.barH = math.Max(1.2, page)
	}
	h.groupH = float64(len(series))*h.barH + hbarGap
	return h
}

// seriesMax is the largest value shown.
func seriesMax(series []chartSeries) float64 {
	dataMax := 0.0
	for _, s := range series {
		for i, v := range s.vals {
			if s.valid == nil || s.valid[i] {
				dataMax = math.Max(dataMax, v)
			}
		}
	}
	return dataMax
}

// hbarGrid draws the grid lines and the tick labels under the plot.
func (c *canvas) hbarGrid(h *hbars, percentAxis bool) {
	c.stroke(0xCC, 0.15)
	for v := 0.0; v <= h.top+h.step/2; v += h.step {
		x := h.x0 + h.plotW*v/h.top
		c.line(x, h.y0, x, h.y0+h.plotH)
		tick := strconv.FormatFloat(v, 'f', -1, 64)
		if percentAxis {
			tick += "%"
		}
		tw := c.width(tick, 7)
		c.textIn(x-tw/2, tw, h.y0+h.plotH+0.5, 4, tick, 7, 'L', false)
	}
}

// hbar draws the bar of label i of series s at by, and its value.
func (c *canvas) hbar(h *hbars, s chartSeries, i int, by float64) {
	v := 0.0
	if i < len(s.vals) {
		v = s.vals[i]
	}
	shown := s.valid == nil || (i < len(s.valid) && s.valid[i])
	w := 0.0
	if shown && h.top > 0 {
		w = h.plotW * math.Min(v, h.top) / h.top
	}
	if w > 0 {
		c.fill(s.color)
		c.rect(h.x0, by+0.25, w, h.barH-0.5, "F")
	}
	label := "—"
	if shown {
		label = s.format(v)
	}
	c.textIn(h.x0+w+1, hbarValueW, by, h.barH, label, math.Min(7, h.barH/ptMM*0.9), 'L', false)
}

// vbarChart draws a vertical bar chart, one bar per label, the value above
// each bar and the label under it, kept on one page.
func (c *canvas) vbarChart(caption string, labels []string, vals []float64, colors [][3]int) {
	if c.err != nil || len(labels) == 0 {
		return
	}
	const (
		plotH  = 50.0
		axisW  = 10.0
		labelH = 6.0
	)
	headH := sizeBody * ptMM * 1.5
	c.ensure(headH + 1 + 5 + plotH + labelH + 2)
	c.chartCaption(caption, nil)
	c.y += 5
	dataMax := 0.0
	for _, v := range vals {
		dataMax = math.Max(dataMax, v)
	}
	top, step := niceScale(dataMax)
	x0 := marginL + axisW
	plotW := contentW - axisW - 4
	y0 := c.y
	base := y0 + plotH
	c.stroke(0xCC, 0.15)
	for v := 0.0; v <= top+step/2; v += step {
		y := base - plotH*v/top
		c.line(x0, y, x0+plotW, y)
		tick := strconv.FormatFloat(v, 'f', -1, 64)
		c.textIn(marginL, axisW-1.5, y-2, 4, tick, 7, 'R', false)
	}
	slot := plotW / float64(len(labels))
	bw := math.Min(slot*0.55, 22)
	for i, l := range labels {
		v := 0.0
		if i < len(vals) {
			v = vals[i]
		}
		x := x0 + slot*float64(i) + (slot-bw)/2
		h := plotH * v / top
		if h > 0 {
			c.fill(colors[i%len(colors)])
			c.rect(x, base-h, bw, h, "F")
		}
		c.textIn(x0+slot*float64(i), slot, base-h-4.5, 4.5, strconv.FormatFloat(v, 'f', -1, 64), sizeSmall, 'C', false)
		c.textIn(x0+slot*float64(i), slot, base+0.8, labelH-1, l, sizeSmall, 'C', false)
	}
	c.stroke(0x33, 0.25)
	c.line(x0, y0, x0, base)
	c.line(x0, base, x0+plotW, base)
	c.stroke(0, borderWidth)
	c.y = base + labelH
}
