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
	const (
		gap    = 1.6
		valueW = 14.0
		axisH  = 6.0
	)
	labelW := 0.0
	for _, l := range labels {
		labelW = math.Max(labelW, c.width(l, sizeSmall))
	}
	labelW = math.Min(labelW+1, 42)
	headH := sizeBody * ptMM * 1.5
	if len(series) > 1 {
		headH += sizeSmall * ptMM * 1.5
	}
	// Bars 3.4 mm high; thinner (down to 2.2 mm) when that keeps the
	// chart on the current page, and thinner still when even a whole page
	// is too short.
	fit := func(avail float64) float64 {
		return (avail/float64(len(labels)) - gap) / float64(len(series))
	}
	barH := 3.4
	if here := fit(contentBot - c.y - headH - axisH - 2); here < barH && here >= 2.2 {
		barH = here
	}
	if page := fit(contentBot - marginT - headH - axisH - 2); page < barH {
		barH = math.Max(1.2, page)
	}
	groupH := float64(len(series))*barH + gap
	c.ensure(headH + float64(len(labels))*groupH + axisH + 2)
	c.chartCaption(caption, series)
	c.y += 1

	dataMax := 0.0
	for _, s := range series {
		for i, v := range s.vals {
			if s.valid == nil || s.valid[i] {
				dataMax = math.Max(dataMax, v)
			}
		}
	}
	top, step := max, max/5
	if max <= 0 {
		top, step = niceScale(dataMax)
	}
	x0 := marginL + labelW + 2
	plotW := contentW - labelW - 2 - valueW
	y0 := c.y
	plotH := float64(len(labels)) * groupH
	// Grid lines and ticks.
	c.stroke(0xCC, 0.15)
	for v := 0.0; v <= top+step/2; v += step {
		x := x0 + plotW*v/top
		c.line(x, y0, x, y0+plotH)
		tick := strconv.FormatFloat(v, 'f', -1, 64)
		if percentAxis {
			tick += "%"
		}
		tw := c.width(tick, 7)
		c.textIn(x-tw/2, tw, y0+plotH+0.5, 4, tick, 7, 'L', false)
	}
	for i, l := range labels {
		gy := y0 + float64(i)*groupH + gap/2
		c.textIn(marginL, labelW, gy, float64(len(series))*barH, l, sizeSmall, 'R', false)
		for k, s := range series {
			by := gy + float64(k)*barH
			v := 0.0
			if i < len(s.vals) {
				v = s.vals[i]
			}
			shown := s.valid == nil || (i < len(s.valid) && s.valid[i])
			w := 0.0
			if shown && top > 0 {
				w = plotW * math.Min(v, top) / top
			}
			if w > 0 {
				c.fill(s.color)
				c.rect(x0, by+0.25, w, barH-0.5, "F")
			}
			label := "—"
			if shown {
				label = s.format(v)
			}
			c.textIn(x0+w+1, valueW, by, barH, label, math.Min(7, barH/ptMM*0.9), 'L', false)
		}
	}
	// Axis lines.
	c.stroke(0x33, 0.25)
	c.line(x0, y0, x0, y0+plotH)
	c.line(x0, y0+plotH, x0+plotW, y0+plotH)
	c.stroke(0, borderWidth)
	c.y = y0 + plotH + axisH
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
