package pdf

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// NoticeData is the content of a one-time notice (一次告知单): every
// material the matters need, the time limits and where to go.
type NoticeData struct {
	CaseNumber    string
	Title         string // the matter or 一件事 name
	Matters       []MatterInfo
	ApplicantName string
	IssuedAt      time.Time
	VerifyCode    string // QR → BaseURL/verify/{code}
	TrackingCode  string // optional; printed with its own QR when set
	Note          string // optional remarks (温馨提示 of the agent)
}

var chineseNumerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

// ordinal returns 一, 二, … 十, 十一 … for headings.
func ordinal(n int) string {
	switch {
	case n <= 10:
		return chineseNumerals[n-1]
	case n < 20:
		return "十" + chineseNumerals[n-11]
	case n < 100 && n%10 == 0:
		return chineseNumerals[n/10-1] + "十"
	case n < 100:
		return chineseNumerals[n/10-1] + "十" + chineseNumerals[n%10-1]
	}
	return strconv.Itoa(n)
}

// Notice renders the one-time notice; see NoticeCtx.
func (r *Renderer) Notice(d NoticeData) ([]byte, error) {
	return r.NoticeCtx(context.Background(), d)
}

// NoticeCtx renders the one-time notice, giving up with an EUNAVAILABLE
// error if ctx ends while waiting for a rendering slot.
func (r *Renderer) NoticeCtx(ctx context.Context, d NoticeData) ([]byte, error) {
	k := &checker{f: r.fonts}
	k.required("case_number", "案件编号", d.CaseNumber, maxShort)
	k.required("title", "办理事项", d.Title, maxLine)
	k.matters(d.Matters)
	k.required("applicant_name", "申请人姓名或名称", d.ApplicantName, maxLine)
	k.code("verify_code", "验证码", d.VerifyCode, true)
	k.code("tracking_code", "查询码", d.TrackingCode, false)
	k.text("note", d.Note, maxNote)
	if k.err != nil {
		return nil, k.err
	}
	l := noticeLayout{d: d, ctr: r.center, issued: date(d.IssuedAt)}
	var err error
	if _, l.verifyQR, err = r.qr("/verify/", d.VerifyCode); err != nil {
		return nil, err
	}
	if d.TrackingCode != "" {
		if l.trackURL, l.trackQR, err = r.qr("/track/", d.TrackingCode); err != nil {
			return nil, err
		}
	}
	return r.render(ctx, docMeta{title: "一次告知单 " + d.CaseNumber, caseNo: d.CaseNumber, created: d.IssuedAt}, nil, l.layout)
}

// noticeLayout lays out one one-time notice.
type noticeLayout struct {
	d        NoticeData
	ctr      Center
	issued   string // the date as printed
	trackURL string
	trackQR  [][]bool // nil without a tracking code
	verifyQR [][]bool
}

func (l noticeLayout) layout(c *canvas) {
	d := l.d
	c.title("一次告知单")
	c.metaRow("案件编号："+d.CaseNumber, "告知日期："+l.issued)
	c.paragraph(d.ApplicantName+"：", sizeBody, 0)
	intro := "您好！您咨询办理的「" + d.Title + "」"
	if len(d.Matters) > 1 {
		intro += "共涉及 " + strconv.Itoa(len(d.Matters)) + " 个事项"
	}
	intro += "，现将所需材料、承诺时限和办理地点一次性告知如下。请按清单准备材料；除法律法规另有规定外，窗口不会要求您提交清单以外的材料。"
	c.paragraph(intro, sizeBody, 2)
	for i, m := range d.Matters {
		c.space(1)
		c.heading(ordinal(i+1) + "、" + m.Name)
		noticeMatter(c, m)
	}
	c.space(1)
	l.tips(c)
	c.space(2)
	l.qrCodes(c)
	c.space(2)
	c.sealLine(l.ctr.Name, l.issued)
}

// noticeMatter prints where and how long a matter takes and the materials
// it needs.
func noticeMatter(c *canvas, m MatterInfo) {
	lim := "—"
	if m.LimitDays > 0 {
		lim = strconv.Itoa(m.LimitDays) + " 个工作日"
	}
	info := &table{cols: cols(18, 37, 18, 37)}
	info.rows = [][]cell{
		{{text: "实施部门", label: true}, {text: dash(m.Department)}, {text: "办理层级", label: true}, {text: dash(m.Level)}},
		{{text: "承诺时限", label: true}, {text: lim}, {text: "办理地点", label: true}, {text: dash(m.Where)}},
	}
	c.table(info)
	mt := &table{cols: cols(10, 78, 24, 14),
		header: []cell{{text: "序号", label: true}, {text: "材料名称", label: true}, {text: "原件/复印件", label: true}, {text: "份数", label: true}}}
	for j, x := range m.Materials {
		n := "—"
		if x.Count > 0 {
			n = strconv.Itoa(x.Count)
		}
		mt.rows = append(mt.rows, []cell{{text: strconv.Itoa(j + 1), align: 'C'}, {text: x.Name}, {text: originalLabel(x.Original), align: 'C'}, {text: n, align: 'C'}})
	}
	if len(m.Materials) == 0 {
		mt.rows = append(mt.rows, []cell{{text: "（本事项无需提交材料）", span: 4, align: 'C'}})
	}
	c.table(mt)
}

// tips prints the 温馨提示, with the center's phone and the agent's note.
func (l noticeLayout) tips(c *canvas) {
	c.heading("温馨提示")
	tips := []string{
		"复印件请使用 A4 纸，并在复印件上签字确认与原件一致；材料为外文的，请附中文译本。",
		"承诺时限自受理之日的次日起按工作日计算，补正材料、现场核查等时间不计入。",
		"本中心免费提供帮办代办服务，如需代办，可向窗口工作人员提出并签订委托协议。",
	}
	if l.ctr.Phone != "" {
		tips = append(tips, "咨询电话："+l.ctr.Phone+"。")
	}
	if strings.TrimSpace(l.d.Note) != "" {
		tips = append(tips, "备注："+l.d.Note)
	}
	for i, t := range tips {
		c.clause(strconv.Itoa(i+1)+"．", t, sizeCell)
	}
}

// qrCodes prints the verification QR code, after the tracking one when
// there is a tracking code.
func (l noticeLayout) qrCodes(c *canvas) {
	items := []qrItem{{bits: l.verifyQR, caption: "扫码核验文书", lines: []string{
		"验证码：" + l.d.VerifyCode,
		"扫描左侧二维码可核验本告知单由" + l.ctr.Name + "出具且未被篡改。",
	}}}
	if l.trackQR != nil {
		items = append([]qrItem{{bits: l.trackQR, caption: "扫码查询进度", lines: []string{
			"查询码：" + l.d.TrackingCode,
			"请用手机扫描左侧二维码，或访问 " + l.trackURL + " 查询办理进度。",
		}}}, items...)
	}
	c.qrBox(items)
}
