package web

import (
	"fmt"
	"math"
)

// chart is a horizontal bar chart drawn as inline SVG by the template
// "chart": every coordinate is computed here, the template only prints.
type chart struct {
	ID, Title, Desc string
	Width, Height   float64
	PlotX, PlotW    float64
	PlotTop, PlotH  float64
	Rows            []chartRow
	Ticks           []chartTick
	Legend          []chartLegend
}

type chartRow struct {
	Label  string
	LabelY float64
	Bars   []chartBar
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Text       string // the value, printed after the bar
	TextX      float64
	TextY      float64
}

type chartTick struct {
	X     float64
	Label string
}

type chartLegend struct {
	X     float64
	Class string
	Label string
}

// series is one set of bars, one value per row (NaN: no value, shown as
// "—").
type series struct {
	Name, Class string
	Values      []float64
}

const (
	chartWidth  = 640.0
	chartLabelW = 112.0
	barH        = 14.0
	barGap      = 3.0
	rowGap      = 12.0
	legendH     = 26.0
	axisH       = 22.0
)

// hbars lays out a horizontal bar chart: a row per label, a bar per
// series, scaled to max (at least the largest value), with value labels
// written by format.
func hbars(id, title, desc string, labels []string, ss []series, max float64, ticks int, format func(float64) string) chart {
	for _, s := range ss {
		for _, v := range s.Values {
			if !math.IsNaN(v) && v > max {
				max = v
			}
		}
	}
	if max <= 0 {
		max = 1
	}
	ch := chart{ID: id, Title: title, Desc: desc, Width: chartWidth, PlotX: chartLabelW + 8, PlotTop: legendH}
	ch.PlotW = chartWidth - ch.PlotX - 56 // room for the value after the longest bar
	rowH := float64(len(ss))*(barH+barGap) - barGap + rowGap
	y := ch.PlotTop + rowGap/2
	for i, label := range labels {
		row := chartRow{Label: label, LabelY: y + (rowH-rowGap)/2 + 4}
		for j, s := range ss {
			by := y + float64(j)*(barH+barGap)
			b := chartBar{X: ch.PlotX, Y: by, H: barH, Class: s.Class, TextY: by + barH - 3}
			v := s.Values[i]
			if math.IsNaN(v) {
				b.Text = "—"
			} else {
				b.W = math.Round(v/max*ch.PlotW*10) / 10
				b.Text = format(v)
			}
			b.TextX = ch.PlotX + b.W + 4
			row.Bars = append(row.Bars, b)
		}
		ch.Rows = append(ch.Rows, row)
		y += rowH
	}
	ch.PlotH = y - ch.PlotTop
	for k := 0; k <= ticks; k++ {
		v := max * float64(k) / float64(ticks)
		ch.Ticks = append(ch.Ticks, chartTick{X: ch.PlotX + ch.PlotW*float64(k)/float64(ticks), Label: format(v)})
	}
	x := ch.PlotX
	for _, s := range ss {
		ch.Legend = append(ch.Legend, chartLegend{X: x, Class: s.Class, Label: s.Name})
		x += 24 + float64(len([]rune(s.Name)))*13 + 16
	}
	ch.Height = y + axisH
	return ch
}

// dashboardCharts draws the dashboard's three charts.
func dashboardCharts(rows []townRow, total townRow) []chart {
	labels := make([]string, len(rows))
	open, late, rate, avg := make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		labels[i] = r.Name
		open[i], late[i] = float64(r.Open), float64(r.Overdue)
		rate[i] = r.OnTimeRate()
		if rate[i] < 0 {
			rate[i] = math.NaN()
		}
		avg[i] = r.AvgRating()
		if r.Rated == 0 {
			avg[i] = math.NaN()
		}
	}
	count := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	// Count axes end at a multiple of their four steps, so every tick is a
	// whole number.
	nice := func(vals ...[]float64) float64 {
		m := 0.0
		for _, vs := range vals {
			for _, v := range vs {
				m = math.Max(m, v)
			}
		}
		return math.Max(4, math.Ceil(m/4)*4)
	}
	charts := []chart{
		hbars("chart-open", "各镇街在办与超期件数", "每个镇街在办的案件数和其中已超过承诺时限的案件数", labels,
			[]series{{Name: "在办", Class: "bar-open", Values: open}, {Name: "超期", Class: "bar-late", Values: late}}, nice(open, late), 4, count),
		hbars("chart-ontime", "按时办结率", "已交付签收的案件中，在承诺时限内办结的比例；“—”表示尚无交付", labels,
			[]series{{Name: "按时办结率", Class: "bar-ok", Values: rate}}, 1, 4, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }),
		hbars("chart-rating", "平均满意度（1–5 分）", "申请人评价的平均分；“—”表示尚无评价", labels,
			[]series{{Name: "平均分", Class: "bar-rate", Values: avg}}, 5, 5, func(v float64) string { return fmt.Sprintf("%.1f", v) }),
	}
	dist := make([]float64, 5)
	names := make([]string, 5)
	for i := range dist {
		dist[i] = float64(total.Ratings[4-i])
		names[i] = fmt.Sprintf("%d 分 %s", 5-i, ratingName(5-i))
	}
	charts = append(charts, hbars("chart-dist", "评价等级分布", "全部评价按等级统计的件数", names,
		[]series{{Name: "件数", Class: "bar-rate", Values: dist}}, nice(dist), 4, count))
	return charts
}
