package pdf

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/reports"
)

// The monthly dispatch report (每月调度报告): the figures of a county or a
// township for one month, per township, with charts. The figures are
// gathered by cases/reports; this file only lays them out, from the same
// types that are the report's JSON, so the PDF and the JSON cannot
// disagree. The charts are in chart.go.

// maxReportRows bounds every list and table of a report.
const maxReportRows = 20000

// MonthlyReport renders the monthly dispatch report (A4, Chinese, page
// numbers, charts). It gives up with an EUNAVAILABLE error if ctx ends
// while waiting for a rendering slot. Characters no document font can
// print (from stored names) are printed as □ rather than failing the
// whole report.
func (r *Renderer) MonthlyReport(ctx context.Context, d reports.Report) ([]byte, error) {
	if strings.TrimSpace(d.Title) == "" {
		return nil, daiban.Invalid("title", "缺少报告标题")
	}
	if len(d.Townships) == 0 {
		return nil, daiban.Invalid("townships", "报告没有任何乡镇（街道）")
	}
	if len(d.Townships) > 500 || len(d.Overdue) > maxReportRows || len(d.Complaints) > maxReportRows {
		return nil, daiban.Invalid("townships", "报告内容过多，无法生成")
	}
	l := reportLayout{d: d, p: r.printable, gen: d.GeneratedAt, center: r.center.Name}
	if l.gen.IsZero() {
		l.gen = time.Now()
	}
	return r.render(ctx, docMeta{title: l.p(d.Title), created: l.gen}, nil, l.layout)
}

// reportLayout lays out one monthly report, section by section.
type reportLayout struct {
	d      reports.Report
	p      func(string) string // makes stored text printable
	gen    time.Time           // printed generation time
	center string
}

func (l reportLayout) layout(c *canvas) {
	l.header(c)
	l.overview(c)
	l.townships(c)
	l.overdue(c)
	l.escalations(c)
	l.ratings(c)
	l.complaints(c)
	c.space(4)
	c.signOff(l.center, dayCN(l.d.AsOf))
}

// header prints the title, the region, the period and the day the
// figures are taken at.
func (l reportLayout) header(c *canvas) {
	d := l.d
	c.title(l.p(d.Title))
	c.metaRow("统计范围："+l.p(d.Region.Name)+"（"+d.Region.Code+"）", "生成时间："+dateTime(l.gen))
	period := "统计期间：" + dayCN(d.From) + "至" + dayCN(d.To)
	asOf := "月末时点：" + dayCN(d.AsOf)
	if !d.Complete {
		asOf = "数据截至：" + dayCN(d.AsOf) + "（本月尚未结束，为阶段统计）"
	}
	c.metaRow(period, asOf)
	c.space(1)
}

// overview is section one: the summary paragraph.
func (l reportLayout) overview(c *canvas) {
	c.heading("一、总体情况")
	c.paragraph(summary(l.d), sizeBody, 2)
	c.space(2)
}

// townships is section two: the figures table, its two charts and the
// note on how the figures are counted.
func (l reportLayout) townships(c *canvas) {
	d := l.d
	c.heading("二、各乡镇（街道）办件情况")
	c.reportFiguresTable(d, l.p)
	c.space(3)
	labels := make([]string, len(d.Townships))
	received := make([]float64, len(d.Townships))
	closed := make([]float64, len(d.Townships))
	rates := make([]float64, len(d.Townships))
	hasRate := make([]bool, len(d.Townships))
	for i, row := range d.Townships {
		labels[i] = l.p(row.Name)
		received[i], closed[i] = float64(row.Received), float64(row.Closed)
		if row.OnTimeRate != nil {
			rates[i], hasRate[i] = *row.OnTimeRate, true
		}
	}
	countFmt := func(v float64) string { return strconv.Itoa(int(v)) }
	c.hbarChart("图1  各乡镇（街道）接收与办结件数", labels, []chartSeries{
		{name: "接收", color: [3]int{0x4E, 0x79, 0xA7}, vals: received, format: countFmt},
		{name: "办结", color: [3]int{0x59, 0xA1, 0x4F}, vals: closed, format: countFmt},
	}, 0, false)
	c.space(3)
	c.hbarChart("图2  各乡镇（街道）代办件按时办结率", labels, []chartSeries{
		{name: "按时办结率", color: [3]int{0xF2, 0x8E, 0x2B}, vals: rates, valid: hasRate, format: func(v float64) string { return percent(&v) }},
	}, 100, true)
	c.space(2)
	c.paragraph("注：按时办结率＝本月办结的代办件中在办结时限内办结的件数÷本月办结的代办件数，无代办件办结的以“—”表示；平均用时按工作日计算（代办件自委托协议签订次日起，其余自接件次日起，至办结之日止）；月末逾期未办结指月末仍在办理、已超过办结时限且未处于补正材料、中止或转报上级期间的代办件。", sizeSmall, 0)
	c.space(2)
}

// overdue is section three: the overdue cases.
func (l reportLayout) overdue(c *canvas) {
	t := l.d.Total
	c.heading("三、逾期案件清单")
	if len(l.d.Overdue) == 0 {
		c.paragraph("本月无逾期案件。", sizeBody, 2)
	} else {
		c.paragraph(fmt.Sprintf("月末逾期未办结 %d 件，本月逾期办结 %d 件。", t.OverdueOpen, t.ClosedLate), sizeBody, 2)
		c.reportOverdueTable(l.d.Overdue, l.p)
	}
	c.space(2)
}

// escalations is section four: escalations by township.
func (l reportLayout) escalations(c *canvas) {
	c.heading("四、转报上级情况")
	if l.d.Total.Escalations.Total == 0 {
		c.paragraph("本月无转报上级事项。", sizeBody, 2)
	} else {
		c.reportEscalationTable(l.d, l.p)
	}
	c.space(2)
}

// ratings is section five: ratings by township and their distribution.
func (l reportLayout) ratings(c *canvas) {
	t := l.d.Total
	c.heading("五、服务评价情况")
	if t.Ratings.Total == 0 {
		c.paragraph("本月未收到服务评价。", sizeBody, 2)
	} else {
		c.reportRatingTable(l.d, l.p)
		c.space(3)
		var rl []string
		var rv []float64
		for _, lv := range t.Ratings.Levels {
			rl = append(rl, lv.Label)
			rv = append(rv, float64(lv.Count))
		}
		c.vbarChart("图3  服务评价分布（件）", rl, rv, [][3]int{
			{0xE1, 0x57, 0x59}, {0xF2, 0x8E, 0x2B}, {0xBA, 0xB0, 0xAC}, {0x76, 0xB7, 0xB2}, {0x59, 0xA1, 0x4F},
		})
	}
	c.space(2)
}

// complaints is section six: the 差评 and their rectification.
func (l reportLayout) complaints(c *canvas) {
	t := l.d.Total
	c.heading("六、差评整改情况")
	if t.Complaints.Total == 0 {
		c.paragraph("本月无差评。", sizeBody, 2)
	} else {
		c.paragraph(fmt.Sprintf("本月收到差评 %d 件，月末已整改 %d 件、整改中 %d 件，其中逾期未按时整改 %d 件。",
			t.Complaints.Total, t.Complaints.Rectified, t.Complaints.Open, t.Complaints.Overdue), sizeBody, 2)
		c.reportComplaintTable(l.d.Complaints, l.p)
	}
}

// summary is the overview paragraph.
func summary(d reports.Report) string {
	t := d.Total
	var b strings.Builder
	fmt.Fprintf(&b, "本月共接收办件 %d 件，其中即办 %d 件、领办 %d 件、代办 %d 件", t.Received, t.ByMode.Guide, t.ByMode.Accompany, t.ByMode.Delegate)
	if t.ByMode.Undecided > 0 {
		fmt.Fprintf(&b, "、未分流 %d 件", t.ByMode.Undecided)
	}
	fmt.Fprintf(&b, "；新签代办委托协议 %d 件；办结 %d 件，平均办结用时 %s 个工作日。", t.Delegated, t.Closed, decimal(t.AvgCloseWorkdays))
	fmt.Fprintf(&b, "本月办结代办件 %d 件，其中按时办结 %d 件、逾期办结 %d 件，按时办结率 %s；月末逾期未办结 %d 件。",
		t.ClosedDelegated, t.ClosedOnTime, t.ClosedLate, percent(t.OnTimeRate), t.OverdueOpen)
	e := t.Escalations
	fmt.Fprintf(&b, "转报上级 %d 件（已批准 %d 件、退回补正 %d 件、不予批准 %d 件、待回复 %d 件）。", e.Total, e.Approved, e.Returned, e.Refused, e.Pending)
	fmt.Fprintf(&b, "收到服务评价 %d 件，其中差评 %d 件。", t.Ratings.Total, t.Complaints.Total)
	if t.Appointments > 0 {
		fmt.Fprintf(&b, "网上预约 %d 人次，预约未到 %d 人次", t.Appointments, t.NoShows)
		sep := "（"
		for _, r := range d.Townships {
			if r.NoShows > 0 {
				fmt.Fprintf(&b, "%s%s %d 人次", sep, r.Name, r.NoShows)
				sep = "、"
			}
		}
		if sep == "、" {
			b.WriteString("）")
		}
		b.WriteString("。")
	}
	return b.String()
}

// percent prints a rate as 66.7%, or — when there is none.
func percent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
}

// decimal prints a one-decimal figure, or — when there is none.
func decimal(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

// dayCN prints YYYY-MM-DD as 2026年10月31日.
func dayCN(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// dateTime prints a time as 2026年11月1日 08:30 in China Standard Time.
func dateTime(t time.Time) string {
	t = t.In(cst)
	return fmt.Sprintf("%d年%d月%d日 %02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
}

// handlerLabel prints a handler as the name over the username.
func handlerLabel(name, username string) string {
	switch {
	case username == "":
		return "—"
	case name == "" || name == username:
		return username
	}
	return name + "\n" + username
}

// printable replaces what no document font prints by □ and control
// characters by spaces, so stored names never fail a report.
func (r *Renderer) printable(s string) string {
	ok := true
	for _, ch := range s {
		if _, found := r.fonts.lookup(ch); !found || unicode.IsControl(ch) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, ch := range s {
		switch _, found := r.fonts.lookup(ch); {
		case ch == '\n' || ch == '\r' || ch == '\t' || unicode.IsControl(ch):
			b.WriteByte(' ')
		case !found:
			b.WriteRune('□')
		default:
			b.WriteRune(ch)
		}
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// signOff prints the issuing center and the date, right-aligned, at the
// end of the report (it is not sealed: it is a working document produced
// on request).
func (c *canvas) signOff(center, date string) {
	lh := sizeBody * ptMM * 1.6
	c.ensure(2 * lh)
	c.textIn(marginL, contentW, c.y, lh, center, sizeBody, 'R', true)
	c.y += lh
	c.textIn(marginL, contentW, c.y, lh, date, sizeBody, 'R', false)
	c.y += lh
}

// fitCode breaks a case number after its first hyphen when it is too
// wide for a cell of width w: numbers are unbreakable words to the line
// breaker, which would otherwise cut them at an arbitrary digit.
func (c *canvas) fitCode(s string, w, size float64) string {
	if c.width(s, size) <= w-2*cellPadX {
		return s
	}
	if i := strings.IndexByte(s, '-'); i > 0 {
		return s[:i+1] + "\n" + s[i+1:]
	}
	return s
}

// reportRows returns the township rows plus the total row when there is
// more than one.
func reportRows(d reports.Report) []reports.Row {
	rows := append([]reports.Row(nil), d.Townships...)
	if len(d.Townships) > 1 {
		rows = append(rows, d.Total)
	}
	return rows
}

// reportFiguresTable is the main table: one row per township.
func (c *canvas) reportFiguresTable(d reports.Report, p func(string) string) {
	t := &table{size: 9, cols: cols(22, 10, 10, 10, 10, 11, 10, 14, 13, 12, 12),
		header: []cell{
			{text: "乡镇（街道）", label: true}, {text: "接收", label: true}, {text: "即办", label: true},
			{text: "领办", label: true}, {text: "代办", label: true}, {text: "新签委托", label: true},
			{text: "办结", label: true}, {text: "按时办结率", label: true}, {text: "平均用时（工作日）", label: true},
			{text: "月末逾期未办结", label: true}, {text: "逾期办结", label: true},
		}}
	rows := reportRows(d)
	for i, row := range rows {
		total := len(d.Townships) > 1 && i == len(rows)-1
		name := p(row.Name)
		if total {
			name = "合计"
		}
		t.rows = append(t.rows, []cell{
			{text: name, bold: total},
			{text: itoa(row.Received), align: 'R', bold: total},
			{text: itoa(row.ByMode.Guide), align: 'R', bold: total},
			{text: itoa(row.ByMode.Accompany), align: 'R', bold: total},
			{text: itoa(row.ByMode.Delegate), align: 'R', bold: total},
			{text: itoa(row.Delegated), align: 'R', bold: total},
			{text: itoa(row.Closed), align: 'R', bold: total},
			{text: percent(row.OnTimeRate), align: 'R', bold: total},
			{text: decimal(row.AvgCloseWorkdays), align: 'R', bold: total},
			{text: itoa(row.OverdueOpen), align: 'R', bold: total},
			{text: itoa(row.ClosedLate), align: 'R', bold: total},
		})
	}
	c.table(t)
}

// provisionalMark marks a due date past the calendar (暂定) on its own
// line of the cell.
func provisionalMark(p bool) string {
	if p {
		return "\n（暂定）"
	}
	return ""
}

// reportOverdueTable lists the overdue cases.
func (c *canvas) reportOverdueTable(list []reports.OverdueCase, p func(string) string) {
	t := &table{size: 8, cols: cols(7, 32, 17, 33, 24, 20, 24, 13),
		header: []cell{
			{text: "序号", label: true}, {text: "案件编号", label: true}, {text: "乡镇（街道）", label: true},
			{text: "办理事项", label: true}, {text: "承办人", label: true}, {text: "办结时限", label: true},
			{text: "状态", label: true}, {text: "逾期工作日", label: true},
		}}
	for i, it := range list {
		status := "月末未办结"
		if it.Status == "closed_late" {
			status = "逾期办结\n" + it.ClosedOn
		}
		t.rows = append(t.rows, []cell{
			{text: itoa(i + 1), align: 'C'}, {text: c.fitCode(it.Number, t.cols[1], t.size)}, {text: p(it.TownshipName)}, {text: p(it.Title)},
			{text: p(handlerLabel(it.HandlerName, it.Handler))}, {text: dash(it.DueDate) + provisionalMark(it.DueProvisional), align: 'C'},
			{text: status, align: 'C'}, {text: itoa(it.WorkdaysOverdue), align: 'R'},
		})
	}
	c.table(t)
}

// reportEscalationTable counts escalations per township by level and
// outcome.
func (c *canvas) reportEscalationTable(d reports.Report, p func(string) string) {
	hdr := []cell{{text: "乡镇（街道）", label: true}}
	for _, lv := range reports.EscalationLevels {
		hdr = append(hdr, cell{text: lv[1], label: true})
	}
	hdr = append(hdr, cell{text: "合计", label: true}, cell{text: "已批准", label: true}, cell{text: "退回补正", label: true},
		cell{text: "不予批准", label: true}, cell{text: "待回复", label: true})
	t := &table{size: 9, cols: cols(22, 10, 10, 10, 10, 11, 11, 11, 11), header: hdr}
	rows := reportRows(d)
	for i, row := range rows {
		total := len(d.Townships) > 1 && i == len(rows)-1
		name := p(row.Name)
		if total {
			name = "合计"
		}
		e := row.Escalations
		r := []cell{{text: name, bold: total}}
		for _, lv := range e.Levels {
			r = append(r, cell{text: itoa(lv.Total), align: 'R', bold: total})
		}
		r = append(r, cell{text: itoa(e.Total), align: 'R', bold: total}, cell{text: itoa(e.Approved), align: 'R', bold: total},
			cell{text: itoa(e.Returned), align: 'R', bold: total}, cell{text: itoa(e.Refused), align: 'R', bold: total},
			cell{text: itoa(e.Pending), align: 'R', bold: total})
		t.rows = append(t.rows, r)
	}
	c.table(t)
}

// reportRatingTable counts ratings per township by score.
func (c *canvas) reportRatingTable(d reports.Report, p func(string) string) {
	hdr := []cell{{text: "乡镇（街道）", label: true}}
	for _, l := range reports.RatingLabels {
		hdr = append(hdr, cell{text: l, label: true})
	}
	hdr = append(hdr, cell{text: "合计", label: true}, cell{text: "差评", label: true}, cell{text: "已整改", label: true},
		cell{text: "整改中", label: true}, cell{text: "整改逾期", label: true})
	t := &table{size: 9, cols: cols(20, 12, 10, 11, 9, 11, 9, 9, 9, 9, 10), header: hdr}
	rows := reportRows(d)
	for i, row := range rows {
		total := len(d.Townships) > 1 && i == len(rows)-1
		name := p(row.Name)
		if total {
			name = "合计"
		}
		r := []cell{{text: name, bold: total}}
		for _, lv := range row.Ratings.Levels {
			r = append(r, cell{text: itoa(lv.Count), align: 'R', bold: total})
		}
		k := row.Complaints
		r = append(r, cell{text: itoa(row.Ratings.Total), align: 'R', bold: total}, cell{text: itoa(k.Total), align: 'R', bold: total},
			cell{text: itoa(k.Rectified), align: 'R', bold: total}, cell{text: itoa(k.Open), align: 'R', bold: total},
			cell{text: itoa(k.Overdue), align: 'R', bold: total})
		t.rows = append(t.rows, r)
	}
	c.table(t)
}

// reportComplaintTable lists the 差评 of the month.
func (c *canvas) reportComplaintTable(list []reports.Complaint, p func(string) string) {
	t := &table{size: 8, cols: cols(7, 32, 17, 27, 20, 20, 23, 24),
		header: []cell{
			{text: "序号", label: true}, {text: "案件编号", label: true}, {text: "乡镇（街道）", label: true},
			{text: "办理事项", label: true}, {text: "评价", label: true}, {text: "整改期限", label: true},
			{text: "整改情况", label: true}, {text: "承办人", label: true},
		}}
	for i, it := range list {
		status := "整改中"
		if it.Status == "rectified" {
			status = "已整改\n" + it.RectifiedOn
		}
		if it.Overdue {
			status += "\n（逾期）"
		}
		t.rows = append(t.rows, []cell{
			{text: itoa(i + 1), align: 'C'}, {text: c.fitCode(it.Number, t.cols[1], t.size)}, {text: p(it.TownshipName)}, {text: p(it.Title)},
			{text: it.RatingLabel + "\n" + it.RatedOn, align: 'C'}, {text: it.DueDate + provisionalMark(it.DueProvisional), align: 'C'},
			{text: status, align: 'C'}, {text: p(handlerLabel(it.HandlerName, it.Handler))},
		})
	}
	c.table(t)
}
