package pdf

import (
	"context"
	"strconv"
	"time"
)

// GuideData is a printable 办事指南 of a matter or a 一件事 chain. Empty
// fields are printed as 未公布 (not published): nothing is guessed.
type GuideData struct {
	Code        string
	Title       string
	Chain       bool
	Description string
	Matters     []GuideMatter
	Shared      []string // materials a chain's matters share (brought once)
	ServiceFee  string
	Complaints  []string
	PrintedAt   time.Time
}

// GuideMatter is one matter of a guide.
type GuideMatter struct {
	MatterInfo
	Code        string
	Conditions  string
	LegalBasis  string
	Fees        string
	OfficeHours string
	Phone       string
	Flow        []GuideStep
	// FlowPublished is false when Flow is the center's own steps.
	FlowPublished bool
	// Sources of the materials, by index of Materials ("" when unknown).
	Sources []string
}

// GuideStep is one step of a flow.
type GuideStep struct {
	Step, Who string
	Days      int
}

// GuideCtx renders a guide (not sealed: it is public information, not a
// document about a case).
func (r *Renderer) GuideCtx(ctx context.Context, d GuideData) ([]byte, error) {
	k := &checker{f: r.fonts}
	k.required("title", "指南名称", d.Title, maxLine)
	infos := make([]MatterInfo, len(d.Matters))
	for i, m := range d.Matters {
		infos[i] = m.MatterInfo
		for _, t := range []string{m.Conditions, m.LegalBasis, m.Fees, m.OfficeHours, m.Phone} {
			k.text("matters", t, 4000)
		}
		for _, st := range m.Flow {
			k.text("flow", st.Step+st.Who, maxLine*2)
		}
		for _, s := range m.Sources {
			k.text("source", s, maxLine)
		}
	}
	k.matters(infos)
	k.text("description", d.Description, maxNote)
	if k.err != nil {
		return nil, k.err
	}
	return r.render(ctx, docMeta{title: "办事指南 " + d.Title, caseNo: d.Code, codeLabel: "事项编码", created: d.PrintedAt}, nil, guideLayout{d: d, ctr: r.center}.layout)
}

type guideLayout struct {
	d   GuideData
	ctr Center
}

func (l guideLayout) layout(c *canvas) {
	d := l.d
	c.title("办事指南")
	c.metaRow("编码："+d.Code, "打印日期："+date(d.PrintedAt))
	c.heading(d.Title)
	if d.Description != "" {
		c.paragraph(d.Description, sizeBody, 2)
	}
	if d.Chain {
		c.paragraph("本“一件事”共 "+strconv.Itoa(len(d.Matters))+" 个事项，一次告知、一表申请，申请人信息和共用材料只需提交一次。", sizeBody, 2)
		if len(d.Shared) > 0 {
			c.paragraph("共用材料（只需提交一份）："+joinCN(d.Shared), sizeBody, 2)
		}
	}
	for i, m := range d.Matters {
		c.space(1)
		c.heading(ordinal(i+1) + "、" + m.Name + "（" + m.Code + "）")
		guideMatter(c, m)
	}
	c.space(1)
	c.heading("服务与监督")
	c.clause("1．", "代办服务收费："+d.ServiceFee+"。", sizeCell)
	for i, s := range d.Complaints {
		c.clause(strconv.Itoa(i+2)+"．", s+"。", sizeCell)
	}
	if l.ctr.Phone != "" {
		c.clause(strconv.Itoa(len(d.Complaints)+2)+"．", l.ctr.Name+"咨询电话："+l.ctr.Phone+"。", sizeCell)
	}
}

func unpublished(s string) string {
	if s == "" {
		return "未公布（请向窗口咨询）"
	}
	return s
}

func guideMatter(c *canvas, m GuideMatter) {
	info := &table{cols: cols(22, 88)}
	info.rows = [][]cell{
		{{text: "实施部门", label: true}, {text: dash(m.Department)}},
		{{text: "审批层级", label: true}, {text: dash(m.Level)}},
		{{text: "承诺时限", label: true}, {text: strconv.Itoa(m.LimitDays) + " 个工作日"}},
		{{text: "受理条件", label: true}, {text: unpublished(m.Conditions)}},
		{{text: "设定依据", label: true}, {text: unpublished(m.LegalBasis)}},
		{{text: "收费标准", label: true}, {text: unpublished(m.Fees)}},
		{{text: "办理地点", label: true}, {text: unpublished(m.Where)}},
		{{text: "办理时间", label: true}, {text: unpublished(m.OfficeHours)}},
		{{text: "咨询电话", label: true}, {text: unpublished(m.Phone)}},
	}
	c.table(info)
	mt := &table{cols: cols(10, 60, 18, 12, 30),
		header: []cell{{text: "序号", label: true}, {text: "材料名称", label: true}, {text: "原件/复印件", label: true}, {text: "份数", label: true}, {text: "来源", label: true}}}
	for j, x := range m.Materials {
		src := ""
		if j < len(m.Sources) {
			src = m.Sources[j]
		}
		mt.rows = append(mt.rows, []cell{{text: strconv.Itoa(j + 1), align: 'C'}, {text: x.Name}, {text: originalLabel(x.Original), align: 'C'},
			{text: strconv.Itoa(x.Count), align: 'C'}, {text: dash(src)}})
	}
	if len(m.Materials) == 0 {
		mt.rows = append(mt.rows, []cell{{text: "（本事项无需提交材料）", span: 5, align: 'C'}})
	}
	c.table(mt)
	ft := &table{cols: cols(10, 55, 30, 15),
		header: []cell{{text: "步骤", label: true}, {text: "办理环节", label: true}, {text: "办理人", label: true}, {text: "工作日", label: true}}}
	for j, st := range m.Flow {
		days := "当场"
		if st.Days > 0 {
			days = strconv.Itoa(st.Days)
		}
		ft.rows = append(ft.rows, []cell{{text: strconv.Itoa(j + 1), align: 'C'}, {text: st.Step}, {text: dash(st.Who)}, {text: days, align: 'C'}})
	}
	c.table(ft)
	if !m.FlowPublished {
		c.paragraph("注：部门未单独公布办理流程，以上为本中心帮办代办的办理环节。", sizeCell, 0)
	}
}

func joinCN(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += "、"
		}
		out += x
	}
	return out
}
