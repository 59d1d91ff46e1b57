package pdf

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/daiban/daiban"
)

// The monthly dispatch report (每月调度报告): the figures of a county or a
// township for one month, per township, with charts. The figures are
// computed elsewhere (package reports); this file only lays them out. The
// same types are the report's JSON, so the PDF and the JSON cannot
// disagree.

// ReportData is one month's dispatch report of a region.
type ReportData struct {
	// Title is the printed title, e.g. 沂源县帮办代办每月调度报告（2026年10月）.
	Title  string       `json:"title"`
	Month  string       `json:"month"` // YYYY-MM
	Region ReportRegion `json:"region"`
	// From and To are the month's first and last day (YYYY-MM-DD, Beijing
	// time). AsOf is the day the "at month end" figures are taken at: To
	// for a finished month, today for the month in progress (Complete
	// false).
	From     string `json:"from"`
	To       string `json:"to"`
	AsOf     string `json:"as_of"`
	Complete bool   `json:"complete"`
	// Townships has one row per township of the region in code order (a
	// township region: itself), then, when the county itself has cases,
	// a row for the county's own level. Total sums them.
	Townships  []ReportRow         `json:"townships"`
	Total      ReportRow           `json:"total"`
	Overdue    []ReportOverdueCase `json:"overdue"`
	Complaints []ReportComplaint   `json:"complaints"`
	// GeneratedAt is printed on the PDF; it is not part of the figures
	// (the JSON of a month is the same whenever it is asked for).
	GeneratedAt time.Time `json:"-"`
}

// ReportRegion is the region a report covers.
type ReportRegion struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level string `json:"level"` // county | township
}

// ReportRow is the figures of one township (or of the total).
type ReportRow struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Received counts the cases opened in the month; ByMode splits them by
	// how they are served (undecided: still in consultation, declined or
	// terminated before a mode was chosen).
	Received int         `json:"received"`
	ByMode   ReportModes `json:"by_mode"`
	// Delegated counts the delegation agreements signed in the month.
	Delegated int `json:"delegated"`
	// Closed counts the cases closed (办结) in the month. Of those,
	// ClosedDelegated were delegated; ClosedOnTime of these closed on or
	// before the due date, ClosedLate after it. OnTimeRate is
	// ClosedOnTime / ClosedDelegated in percent, one decimal, half up;
	// null when no delegated case closed.
	Closed          int      `json:"closed"`
	ClosedDelegated int      `json:"closed_delegated"`
	ClosedOnTime    int      `json:"closed_on_time"`
	ClosedLate      int      `json:"closed_late"`
	OnTimeRate      *float64 `json:"on_time_rate"`
	// CloseWorkdays sums, over the cases closed in the month, the working
	// days from the agreement (or from the case's opening when it was not
	// delegated) to the close; AvgCloseWorkdays is its average, one
	// decimal, half up; null when nothing closed.
	CloseWorkdays    int      `json:"close_workdays"`
	AvgCloseWorkdays *float64 `json:"avg_close_workdays"`
	// OverdueOpen counts the delegated cases open at month end whose due
	// date had passed by then (a finished month: due on or before its
	// last day; the month in progress: before today) while their clock
	// ran (not waiting for materials, suspended or escalated).
	OverdueOpen int                  `json:"overdue_open"`
	Escalations ReportEscalations    `json:"escalations"`
	Ratings     ReportRatings        `json:"ratings"`
	Complaints  ReportComplaintCount `json:"complaints"`
}

// ReportModes splits received cases by mode.
type ReportModes struct {
	Guide     int `json:"guide"`     // 即办
	Accompany int `json:"accompany"` // 领办
	Delegate  int `json:"delegate"`  // 代办
	Undecided int `json:"undecided"` // 未分流
}

// ReportOutcomes counts escalations by their outcome at month end.
type ReportOutcomes struct {
	Total    int `json:"total"`
	Approved int `json:"approved"`
	Returned int `json:"returned"`
	Refused  int `json:"refused"`
	Pending  int `json:"pending"`
}

// Add counts one more group of n escalations with outcome.
func (o *ReportOutcomes) Add(outcome string, n int) {
	o.Total += n
	switch outcome {
	case "approved":
		o.Approved += n
	case "returned":
		o.Returned += n
	case "refused":
		o.Refused += n
	default:
		o.Pending += n
	}
}

// ReportEscalations counts the escalations (转报上级) made in the month,
// in total and per level (city, province, national, in that order).
type ReportEscalations struct {
	ReportOutcomes
	Levels [3]ReportEscalationLevel `json:"by_level"`
}

// ReportEscalationLevel is the escalations to one level.
type ReportEscalationLevel struct {
	Level string `json:"level"`
	Label string `json:"label"`
	ReportOutcomes
}

// EscalationLevels are the levels in report order, with their labels.
var EscalationLevels = [3][2]string{{"city", "市级"}, {"province", "省级"}, {"national", "国家级"}}

// ReportRatings counts the ratings given in the month by score 1..5.
type ReportRatings struct {
	Total  int             `json:"total"`
	Levels [5]ReportRating `json:"levels"`
}

// ReportRating is the count of one score.
type ReportRating struct {
	Score int    `json:"score"`
	Label string `json:"label"`
	Count int    `json:"count"`
}

// RatingLabels name the scores 1..5.
var RatingLabels = [5]string{"非常不满意", "不满意", "基本满意", "满意", "非常满意"}

// ReportComplaintCount counts the 差评 received in the month and where
// their rectification stood at month end; Overdue counts those not
// rectified by their due date (still open past it, or rectified late).
type ReportComplaintCount struct {
	Total     int `json:"total"`
	Open      int `json:"open"`
	Rectified int `json:"rectified"`
	Overdue   int `json:"overdue"`
}

// ReportOverdueCase is one case of the overdue list.
type ReportOverdueCase struct {
	CaseID       int64  `json:"case_id"`
	Number       string `json:"number"`
	Township     string `json:"township"`
	TownshipName string `json:"township_name"`
	Title        string `json:"title"`
	Handler      string `json:"handler"` // username
	HandlerName  string `json:"handler_name"`
	DelegatedOn  string `json:"delegated_on"`
	DueDate      string `json:"due_date"`
	// Status is "open" (not closed at month end) or "closed_late" (closed
	// in the month after its due date, on ClosedOn).
	Status   string `json:"status"`
	ClosedOn string `json:"closed_on,omitempty"`
	// WorkdaysOverdue counts the working days after the due date up to
	// the close, or up to AsOf for an open case.
	WorkdaysOverdue int `json:"workdays_overdue"`
}

// ReportComplaint is one 差评 received in the month.
type ReportComplaint struct {
	CaseID       int64  `json:"case_id"`
	Number       string `json:"number"`
	Township     string `json:"township"`
	TownshipName string `json:"township_name"`
	Title        string `json:"title"`
	Rating       int    `json:"rating"`
	RatingLabel  string `json:"rating_label"`
	RatedOn      string `json:"rated_on"`
	DueDate      string `json:"due_date"` // of the rectification
	// Status is "open" or "rectified" (at month end, on RectifiedOn).
	Status      string `json:"status"`
	RectifiedOn string `json:"rectified_on,omitempty"`
	Overdue     bool   `json:"overdue"`
	Handler     string `json:"handler"`
	HandlerName string `json:"handler_name"`
}

// maxReportRows bounds every list and table of a report.
const maxReportRows = 20000

// MonthlyReport renders the monthly dispatch report (A4, Chinese, page
// numbers, charts). It gives up with an EUNAVAILABLE error if ctx ends
// while waiting for a rendering slot. Characters no document font can
// print (from stored names) are printed as □ rather than failing the
// whole report.
func (r *Renderer) MonthlyReport(ctx context.Context, d ReportData) ([]byte, error) {
	if strings.TrimSpace(d.Title) == "" {
		return nil, daiban.Invalid("title", "缺少报告标题")
	}
	if len(d.Townships) == 0 {
		return nil, daiban.Invalid("townships", "报告没有任何乡镇（街道）")
	}
	if len(d.Townships) > 500 || len(d.Overdue) > maxReportRows || len(d.Complaints) > maxReportRows {
		return nil, daiban.Invalid("townships", "报告内容过多，无法生成")
	}
	p := r.printable
	gen := d.GeneratedAt
	if gen.IsZero() {
		gen = time.Now()
	}
	layout := func(c *canvas) {
		c.title(p(d.Title))
		c.metaRow("统计范围："+p(d.Region.Name)+"（"+d.Region.Code+"）", "生成时间："+dateTime(gen))
		period := "统计期间：" + dayCN(d.From) + "至" + dayCN(d.To)
		asOf := "月末时点：" + dayCN(d.AsOf)
		if !d.Complete {
			asOf = "数据截至：" + dayCN(d.AsOf) + "（本月尚未结束，为阶段统计）"
		}
		c.metaRow(period, asOf)
		c.space(1)

		t := d.Total
		c.heading("一、总体情况")
		c.paragraph(summary(d), sizeBody, 2)
		c.space(2)

		c.heading("二、各乡镇（街道）办件情况")
		c.reportFiguresTable(d, p)
		c.space(3)
		labels := make([]string, len(d.Townships))
		received := make([]float64, len(d.Townships))
		closed := make([]float64, len(d.Townships))
		rates := make([]float64, len(d.Townships))
		hasRate := make([]bool, len(d.Townships))
		for i, row := range d.Townships {
			labels[i] = p(row.Name)
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

		c.heading("三、逾期案件清单")
		if len(d.Overdue) == 0 {
			c.paragraph("本月无逾期案件。", sizeBody, 2)
		} else {
			c.paragraph(fmt.Sprintf("月末逾期未办结 %d 件，本月逾期办结 %d 件。", t.OverdueOpen, t.ClosedLate), sizeBody, 2)
			c.reportOverdueTable(d.Overdue, p)
		}
		c.space(2)

		c.heading("四、转报上级情况")
		if t.Escalations.Total == 0 {
			c.paragraph("本月无转报上级事项。", sizeBody, 2)
		} else {
			c.reportEscalationTable(d, p)
		}
		c.space(2)

		c.heading("五、服务评价情况")
		if t.Ratings.Total == 0 {
			c.paragraph("本月未收到服务评价。", sizeBody, 2)
		} else {
			c.reportRatingTable(d, p)
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

		c.heading("六、差评整改情况")
		if t.Complaints.Total == 0 {
			c.paragraph("本月无差评。", sizeBody, 2)
		} else {
			c.paragraph(fmt.Sprintf("本月收到差评 %d 件，月末已整改 %d 件、整改中 %d 件，其中逾期未按时整改 %d 件。",
				t.Complaints.Total, t.Complaints.Rectified, t.Complaints.Open, t.Complaints.Overdue), sizeBody, 2)
			c.reportComplaintTable(d.Complaints, p)
		}
		c.space(4)
		c.signOff(r.center.Name, dayCN(d.AsOf))
	}
	return r.render(ctx, docMeta{title: p(d.Title), created: gen}, nil, layout)
}

// summary is the overview paragraph.
func summary(d ReportData) string {
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
func reportRows(d ReportData) []ReportRow {
	rows := append([]ReportRow(nil), d.Townships...)
	if len(d.Townships) > 1 {
		rows = append(rows, d.Total)
	}
	return rows
}

// reportFiguresTable is the main table: one row per township.
func (c *canvas) reportFiguresTable(d ReportData, p func(string) string) {
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

// reportOverdueTable lists the overdue cases.
func (c *canvas) reportOverdueTable(list []ReportOverdueCase, p func(string) string) {
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
			{text: p(handlerLabel(it.HandlerName, it.Handler))}, {text: dash(it.DueDate), align: 'C'},
			{text: status, align: 'C'}, {text: itoa(it.WorkdaysOverdue), align: 'R'},
		})
	}
	c.table(t)
}

// reportEscalationTable counts escalations per township by level and
// outcome.
func (c *canvas) reportEscalationTable(d ReportData, p func(string) string) {
	hdr := []cell{{text: "乡镇（街道）", label: true}}
	for _, lv := range EscalationLevels {
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
func (c *canvas) reportRatingTable(d ReportData, p func(string) string) {
	hdr := []cell{{text: "乡镇（街道）", label: true}}
	for _, l := range RatingLabels {
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
func (c *canvas) reportComplaintTable(list []ReportComplaint, p func(string) string) {
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
			{text: it.RatingLabel + "\n" + it.RatedOn, align: 'C'}, {text: it.DueDate, align: 'C'},
			{text: status, align: 'C'}, {text: p(handlerLabel(it.HandlerName, it.Handler))},
		})
	}
	c.table(t)
}

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
