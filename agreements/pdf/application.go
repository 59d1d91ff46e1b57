package pdf

import (
	"context"
	"strconv"
	"time"
)

// ApplicationData is the combined application form of a 一件事 (一表申请):
// the applicant's details once, the materials the matters share once, and
// every matter with what its department needs.
type ApplicationData struct {
	CaseNumber string
	Title      string // the chain's name
	Applicant  Party
	Shared     []ApplicationMaterial
	Matters    []ApplicationMatter
	IssuedAt   time.Time
	VerifyCode string
}

// ApplicationMatter is one matter of the form.
type ApplicationMatter struct {
	MatterInfo
	Code      string
	Materials []ApplicationMaterial
}

// ApplicationMaterial is a material with what the center received.
type ApplicationMaterial struct {
	Name     string
	Original bool
	Count    int
	Received bool
	Pages    int
	Shared   bool // also needed by another matter of the chain
}

// ApplicationCtx renders the combined application form.
func (r *Renderer) ApplicationCtx(ctx context.Context, d ApplicationData) ([]byte, error) {
	k := &checker{f: r.fonts}
	k.required("case_number", "案件编号", d.CaseNumber, maxShort)
	k.required("title", "一件事名称", d.Title, maxLine)
	k.required("applicant.name", "申请人", d.Applicant.Name, maxLine)
	k.code("verify_code", "验证码", d.VerifyCode, true)
	infos := make([]MatterInfo, len(d.Matters))
	for i, m := range d.Matters {
		infos[i] = m.MatterInfo
		for _, x := range m.Materials {
			k.required("materials", "材料名称", x.Name, maxLine)
		}
	}
	k.matters(infos)
	if k.err != nil {
		return nil, k.err
	}
	l := applicationLayout{d: d, ctr: r.center, issued: date(d.IssuedAt)}
	var err error
	if _, l.verifyQR, err = r.qr("/verify/", d.VerifyCode); err != nil {
		return nil, err
	}
	return r.render(ctx, docMeta{title: "一件事联合申请表 " + d.CaseNumber, caseNo: d.CaseNumber, created: d.IssuedAt}, nil, l.layout)
}

type applicationLayout struct {
	d        ApplicationData
	ctr      Center
	issued   string
	verifyQR [][]bool
}

func (l applicationLayout) layout(c *canvas) {
	d := l.d
	c.title("一件事联合申请表")
	c.metaRow("案件编号："+d.CaseNumber, "填表日期："+l.issued)
	c.paragraph("一件事："+d.Title+"（共 "+strconv.Itoa(len(d.Matters))+" 个事项，一表申请：申请人信息和共用材料只填写、提交一次，由帮办代办员分送各部门）", sizeBody, 0)
	c.space(1)
	c.heading("一、申请人信息（各事项共用）")
	kind := "个人"
	idLabel := "身份证号码"
	if d.Applicant.Kind == "enterprise" {
		kind, idLabel = "企业", "统一社会信用代码"
	}
	info := &table{cols: cols(22, 33, 22, 33)}
	info.rows = [][]cell{
		{{text: "申请人", label: true}, {text: d.Applicant.Name}, {text: "类型", label: true}, {text: kind}},
		{{text: idLabel, label: true}, {text: dash(d.Applicant.IDMasked)}, {text: "联系电话", label: true}, {text: dash(d.Applicant.PhoneMasked)}},
	}
	c.table(info)
	c.space(1)
	c.heading("二、共用材料（提交一份，各部门共享）")
	if len(d.Shared) == 0 {
		c.paragraph("本一件事的各事项没有共用材料。", sizeCell, 0)
	} else {
		c.table(materialTable(d.Shared))
	}
	for i, m := range d.Matters {
		c.space(1)
		c.heading(ordinal(i+3) + "、" + m.Name + "（" + m.Code + "）")
		mt := &table{cols: cols(18, 37, 18, 37)}
		mt.rows = [][]cell{
			{{text: "受理部门", label: true}, {text: dash(m.Department)}, {text: "审批层级", label: true}, {text: dash(m.Level)}},
			{{text: "承诺时限", label: true}, {text: strconv.Itoa(m.LimitDays) + " 个工作日"}, {text: "办理地点", label: true}, {text: dash(m.Where)}},
		}
		c.table(mt)
		c.table(materialTable(m.Materials))
	}
	c.space(1)
	c.paragraph("申请人承诺：以上信息和所提交的材料真实、有效，同意帮办代办员将本表及材料分送以上各部门办理。", sizeBody, 2)
	c.space(1)
	c.qrBox([]qrItem{{bits: l.verifyQR, caption: "扫码核验文书", lines: []string{"验证码：" + d.VerifyCode, "扫描左侧二维码可核验本申请表由" + l.ctr.Name + "出具且未被篡改。"}}})
	c.space(1)
	c.sealLine(l.ctr.Name, l.issued)
}

func materialTable(ms []ApplicationMaterial) *table {
	t := &table{cols: cols(10, 62, 20, 12, 22),
		header: []cell{{text: "序号", label: true}, {text: "材料名称", label: true}, {text: "原件/复印件", label: true}, {text: "份数", label: true}, {text: "收取情况", label: true}}}
	for i, x := range ms {
		got := "未收"
		if x.Received {
			got = "已收"
			if x.Pages > 0 {
				got += " " + strconv.Itoa(x.Pages) + " 页"
			}
		}
		name := x.Name
		if x.Shared {
			name += "（共用，见第二部分）"
			got = "—"
		}
		t.rows = append(t.rows, []cell{{text: strconv.Itoa(i + 1), align: 'C'}, {text: name}, {text: originalLabel(x.Original), align: 'C'},
			{text: strconv.Itoa(x.Count), align: 'C'}, {text: got, align: 'C'}})
	}
	if len(ms) == 0 {
		t.rows = append(t.rows, []cell{{text: "（本事项无需提交材料）", span: 5, align: 'C'}})
	}
	return t
}
