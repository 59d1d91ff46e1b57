package pdf

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// IntakeData is the content of an intake receipt (受理回执): the paper the
// applicant takes home from the counter, with the case number, what was
// received, the promised limit and how to follow the case. It is a
// receipt, not a sealed document: it carries no seal and no verification
// code, and says so.
type IntakeData struct {
	CaseNumber    string
	Title         string // the matter or 一件事 name
	Matters       []IntakeMatter
	ApplicantName string
	IDNumber      string // as printed: masked by the caller
	Channel       string // 受理渠道, printed as given
	AgentName     string // who registered the case
	RegisteredAt  time.Time
	Materials     []IntakeMaterial // received so far; none prints 尚未收取材料
	LimitDays     int              // 承诺时限, working days
	DueDate       string           // YYYY-MM-DD once the clock has started
	// DueProvisional: the due date lies past the holiday calendar in
	// force, and is printed as 暂定.
	DueProvisional bool
	TrackingCode   string // QR → BaseURL/track/{code}
}

// IntakeMatter is one matter of the case with its department.
type IntakeMatter struct {
	Name       string
	Department string
}

// IntakeMaterial is one material received at the counter.
type IntakeMaterial struct {
	Name     string
	Original bool // true: 原件; false: 复印件
	Pages    int  // 0: not counted
}

// IntakeNotice is what the receipt says of itself, on paper and on the
// printable page alike.
const IntakeNotice = "本回执为受理凭证，不作为办结依据；办理结果以审批部门出具的证照或文书为准。"

// IntakeReceiptCtx renders the intake receipt, giving up with an
// EUNAVAILABLE error if ctx ends while waiting for a rendering slot.
func (r *Renderer) IntakeReceiptCtx(ctx context.Context, d IntakeData) ([]byte, error) {
	if err := r.checkIntake(d); err != nil {
		return nil, err
	}
	l := intakeLayout{d: d, ctr: r.center}
	var err error
	if l.trackURL, l.trackQR, err = r.qr("/track/", d.TrackingCode); err != nil {
		return nil, err
	}
	return r.render(ctx, docMeta{title: "受理回执 " + d.CaseNumber, caseNo: d.CaseNumber, created: d.RegisteredAt}, nil, l.layout)
}

// checkIntake checks every field of d.
func (r *Renderer) checkIntake(d IntakeData) error {
	k := &checker{f: r.fonts}
	k.required("case_number", "案件编号", d.CaseNumber, maxShort)
	k.required("title", "办理事项", d.Title, maxLine)
	k.required("applicant_name", "申请人姓名或名称", d.ApplicantName, maxLine)
	k.text("id_number", d.IDNumber, maxShort)
	k.text("channel", d.Channel, maxShort)
	k.text("agent_name", d.AgentName, maxShort)
	k.code("tracking_code", "查询码", d.TrackingCode, true)
	if d.LimitDays < 0 || d.LimitDays > 3650 {
		k.fail("limit_days", "承诺时限应为 0 至 3650 个工作日")
	}
	if d.DueDate != "" {
		if _, err := time.Parse("2006-01-02", d.DueDate); err != nil {
			k.fail("due_date", "办结期限日期无效")
		}
	}
	if len(d.Matters) > 50 {
		k.fail("matters", "办理事项过多（最多 50 项）")
	}
	for i, m := range d.Matters {
		k.required(fmt.Sprintf("matters[%d].name", i), "事项名称", m.Name, maxLine)
		k.text(fmt.Sprintf("matters[%d].department", i), m.Department, maxLine)
	}
	if len(d.Materials) > maxItems {
		k.fail("materials", "材料过多（最多 %d 项）", maxItems)
	}
	for i, x := range d.Materials {
		k.required(fmt.Sprintf("materials[%d].name", i), "材料名称", x.Name, maxLine)
		if x.Pages < 0 || x.Pages > 9999 {
			k.fail(fmt.Sprintf("materials[%d].pages", i), "页数应为 0 至 9999")
		}
	}
	return k.err
}

// intakeLayout lays out one intake receipt.
type intakeLayout struct {
	d        IntakeData
	ctr      Center
	trackURL string
	trackQR  [][]bool
}

func (l intakeLayout) layout(c *canvas) {
	d := l.d
	lh := sizeHeading * ptMM * 1.5
	c.ensure(lh)
	c.textIn(marginL, contentW, c.y, lh, l.ctr.Name, sizeHeading, 'C', false)
	c.y += lh
	c.title("受理回执")
	c.metaRow("案件编号："+d.CaseNumber, "受理时间："+dateTime(d.RegisteredAt))
	c.table(l.facts())
	c.space(2)
	c.heading("已收材料")
	c.table(l.materials())
	c.space(2)
	c.heading("承诺时限")
	c.paragraph(IntakeLimit(d.LimitDays, d.DueDate, d.DueProvisional), sizeBody, 2)
	c.space(2)
	c.qrBox([]qrItem{{bits: l.trackQR, caption: "扫码查询进度", lines: []string{
		"查询码：" + d.TrackingCode,
		"请用手机扫描左侧二维码，或访问 " + l.trackURL + " 查询办理进度。请妥善保管本回执，查询码请勿告知他人。",
	}}})
	c.space(2)
	c.heading("咨询方式")
	c.clause("1．", "咨询地点："+dash(l.ctr.Address), sizeCell)
	c.clause("2．", "咨询电话："+dash(l.ctr.Phone), sizeCell)
	c.clause("3．", "咨询时请提供案件编号或查询码。", sizeCell)
	c.space(3)
	c.paragraph(IntakeNotice, sizeCell, 0)
	c.space(2)
	lh = sizeBody * ptMM * 1.6
	c.ensure(2 * lh)
	c.textIn(marginL, contentW, c.y, lh, l.ctr.Name, sizeBody, 'R', true)
	c.y += lh
	c.textIn(marginL, contentW, c.y, lh, date(d.RegisteredAt), sizeBody, 'R', false)
	c.y += lh
}

// facts is the table of who registered what for whom.
func (l intakeLayout) facts() *table {
	d := l.d
	t := &table{cols: cols(18, 37, 18, 37)}
	t.rows = [][]cell{
		{{text: "申请人", label: true}, {text: d.ApplicantName}, {text: "证件号码", label: true}, {text: dash(d.IDNumber)}},
		{{text: "办理事项", label: true}, {text: d.Title, span: 3}},
	}
	for i, m := range l.d.Matters {
		label := "实施部门"
		if len(d.Matters) > 1 {
			label = "包含事项" + strconv.Itoa(i+1)
			t.rows = append(t.rows, []cell{{text: label, label: true}, {text: m.Name + "（" + dash(m.Department) + "）", span: 3}})
			continue
		}
		t.rows = append(t.rows, []cell{{text: label, label: true}, {text: dash(m.Department), span: 3}})
	}
	t.rows = append(t.rows, []cell{{text: "受理渠道", label: true}, {text: dash(d.Channel)}, {text: "经办人", label: true}, {text: dash(d.AgentName)}})
	return t
}

// materials is the table of what the counter received.
func (l intakeLayout) materials() *table {
	t := &table{cols: cols(10, 78, 24, 14),
		header: []cell{{text: "序号", label: true}, {text: "材料名称", label: true}, {text: "原件/复印件", label: true}, {text: "页数", label: true}}}
	for i, x := range l.d.Materials {
		pages := "—"
		if x.Pages > 0 {
			pages = strconv.Itoa(x.Pages)
		}
		t.rows = append(t.rows, []cell{{text: strconv.Itoa(i + 1), align: 'C'}, {text: x.Name}, {text: originalLabel(x.Original), align: 'C'}, {text: pages, align: 'C'}})
	}
	if len(l.d.Materials) == 0 {
		t.rows = append(t.rows, []cell{{text: "尚未收取材料", span: 4, align: 'C'}})
	}
	return t
}

// IntakeLimit is the sentence on the promised limit, as the receipt and
// its printable page say it: the due date once the clock runs, marked
// 暂定 when it lies past the holiday calendar in force.
func IntakeLimit(limitDays int, dueDate string, provisional bool) string {
	s := "本事项承诺 " + strconv.Itoa(limitDays) + " 个工作日内办结，自签订代办委托协议的次日起按工作日计算；补正材料、中止办理及上级机关办理的时间不计入。"
	if limitDays == 0 {
		s = "本事项为即办事项，材料齐全即可当场办结。"
	}
	switch {
	case dueDate != "" && provisional:
		s += "本案件应于 " + dayCN(dueDate) + " 前办结（暂定：下一年度节假日安排尚未公布，公布后重新计算）。"
	case dueDate != "":
		s += "本案件应于 " + dayCN(dueDate) + " 前办结。"
	}
	return s
}
