package pdf

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaterialInfo is one required material of a matter (from the catalog).
type MaterialInfo struct {
	Name     string
	Original bool // true: 原件; false: 复印件
	Count    int  // 份数
}

// MatterInfo is one matter (事项) of the catalog as printed on documents.
type MatterInfo struct {
	Name       string
	Department string // 实施部门
	Level      string // 办理层级, e.g. "县级"
	LimitDays  int    // 承诺时限, working days
	Where      string // 办理地点
	Materials  []MaterialInfo
}

// Party is the applicant (委托人): a person or an enterprise.
type Party struct {
	Kind        string // "person" | "enterprise"
	Name        string // person's name or enterprise name
	IDMasked    string // ID number / unified social credit code, masked
	PhoneMasked string
	Address     string // optional
}

// Agent is the agent (代办员) acting for the center.
type Agent struct {
	Name     string
	Username string
}

// ReceivedMaterial is a material the applicant handed over.
type ReceivedMaterial struct {
	Name     string
	Original bool // true: 原件; false: 复印件
	Pages    int
}

// AgreementData is the content of a delegation agreement
// (代办服务委托协议书). A draft has no signatures and a zero SignedAt; the
// final document has both signatures.
type AgreementData struct {
	CaseNumber   string
	TrackingCode string // applicant's query code (查询码), QR → BaseURL/track/{code}
	Title        string // the matter or 一件事 name
	Matters      []MatterInfo
	Applicant    Party
	Agent        Agent
	Materials    []ReceivedMaterial
	LimitDays    int    // working days; 0 → the longest of the matters
	Note         string // optional further terms (其他约定)

	ApplicantSignature []byte // normalized PNG (NormalizeSignature), nil = not yet signed
	AgentSignature     []byte
	SignedAt           time.Time
	VerifyCode         string // QR → BaseURL/verify/{code}
}

// Agreement renders the delegation agreement. It waits for a rendering slot
// without a deadline; see AgreementCtx.
func (r *Renderer) Agreement(d AgreementData) ([]byte, error) {
	return r.AgreementCtx(context.Background(), d)
}

// AgreementCtx renders the delegation agreement, giving up with an
// EUNAVAILABLE error if ctx ends while waiting for a rendering slot.
func (r *Renderer) AgreementCtx(ctx context.Context, d AgreementData) ([]byte, error) {
	limit, err := r.checkAgreement(d)
	if err != nil {
		return nil, err
	}
	appSig, err := checkSignature("applicant_signature", d.ApplicantSignature)
	if err != nil {
		return nil, err
	}
	agentSig, err := checkSignature("agent_signature", d.AgentSignature)
	if err != nil {
		return nil, err
	}
	l := agreementLayout{d: d, ctr: r.center, limit: limit, signed: date(d.SignedAt)}
	if l.trackURL, l.trackQR, err = r.qr("/track/", d.TrackingCode); err != nil {
		return nil, err
	}
	if l.verifyURL, l.verifyQR, err = r.qr("/verify/", d.VerifyCode); err != nil {
		return nil, err
	}
	images := map[string][]byte{}
	if appSig != nil {
		images["sig-applicant"] = appSig
		l.appImg = "sig-applicant"
	}
	if agentSig != nil {
		images["sig-agent"] = agentSig
		l.agentImg = "sig-agent"
	}
	return r.render(ctx, docMeta{title: "代办服务委托协议书 " + d.CaseNumber, caseNo: d.CaseNumber, created: d.SignedAt}, images, l.layout)
}

// checkAgreement checks every field of d and returns the time limit in
// working days (d.LimitDays, or the longest of the matters').
func (r *Renderer) checkAgreement(d AgreementData) (int, error) {
	k := &checker{f: r.fonts}
	k.required("case_number", "案件编号", d.CaseNumber, maxShort)
	k.code("tracking_code", "查询码", d.TrackingCode, true)
	k.code("verify_code", "验证码", d.VerifyCode, true)
	k.required("title", "办理事项", d.Title, maxLine)
	k.matters(d.Matters)
	if d.Applicant.Kind != "person" && d.Applicant.Kind != "enterprise" {
		k.fail("applicant.kind", "委托人类型应为个人（person）或企业（enterprise）")
	}
	k.required("applicant.name", "委托人名称", d.Applicant.Name, maxLine)
	k.text("applicant.id_masked", d.Applicant.IDMasked, maxShort)
	k.text("applicant.phone_masked", d.Applicant.PhoneMasked, maxShort)
	k.text("applicant.address", d.Applicant.Address, maxLine)
	k.required("agent.name", "代办员姓名", d.Agent.Name, maxShort)
	k.text("agent.username", d.Agent.Username, maxShort)
	k.text("note", d.Note, maxNote)
	if len(d.Materials) > maxItems {
		k.fail("materials", "材料过多（最多 %d 项）", maxItems)
	}
	for i, m := range d.Materials {
		k.required(fmt.Sprintf("materials[%d].name", i), "材料名称", m.Name, maxLine)
		if m.Pages < 0 || m.Pages > 9999 {
			k.fail(fmt.Sprintf("materials[%d].pages", i), "页数应为 0 至 9999")
		}
	}
	limit := d.LimitDays
	if limit <= 0 {
		for _, m := range d.Matters {
			limit = max(limit, m.LimitDays)
		}
	}
	if limit <= 0 || limit > 3650 {
		k.fail("limit_days", "请填写承诺时限（1 至 3650 个工作日）")
	}
	return limit, k.err
}

// agreementLayout lays out one delegation agreement, section by section.
type agreementLayout struct {
	d                   AgreementData
	ctr                 Center
	limit               int    // working days
	signed              string // the signing date as printed
	appImg, agentImg    string // signature image names, "" when unsigned
	trackURL, verifyURL string
	trackQR, verifyQR   [][]bool
}

func (l agreementLayout) layout(c *canvas) {
	c.title("代办服务委托协议书")
	c.metaRow("案件编号："+l.d.CaseNumber, "签订日期："+l.signed)
	l.parties(c)
	l.matters(c)
	l.materials(c)
	l.clauses(c)
	c.closing(1.5, 1, []signBox{
		{label: "委托人（甲方）签字：", image: l.appImg, date: "日期：" + l.signed},
		{label: "受托人（乙方）：" + l.ctr.Name + "（电子签章）", sublabel: "代办员签字：", image: l.agentImg, date: "日期：" + l.signed},
	}, []qrItem{
		{bits: l.trackQR, caption: "扫码查询进度", lines: []string{
			"查询码：" + l.d.TrackingCode,
			"请用手机扫描左侧二维码，或访问 " + l.trackURL + " 查询办理进度、评价服务。",
		}},
		{bits: l.verifyQR, caption: "扫码核验文书", lines: []string{
			"验证码：" + l.d.VerifyCode,
			"扫描左侧二维码可核验本协议的真伪。本协议由" + l.ctr.Name + "加盖电子签章（PDF 数字签名），改动即失效。",
		}},
	})
}

// parties is section one: the applicant and the center.
func (l agreementLayout) parties(c *canvas) {
	d, ctr := l.d, l.ctr
	c.heading("一、协议双方")
	idLabel, addrLabel := "身份证件号码", "住址"
	if d.Applicant.Kind == "enterprise" {
		idLabel, addrLabel = "统一社会信用代码", "住所"
	}
	agent := d.Agent.Name
	if d.Agent.Username != "" {
		agent += "（工号：" + d.Agent.Username + "）"
	}
	parties := &table{cols: cols(20, 36, 18, 36)}
	parties.rows = append(parties.rows,
		[]cell{{text: "委托人（甲方）", label: true}, {text: d.Applicant.Name}, {text: idLabel, label: true}, {text: dash(d.Applicant.IDMasked)}},
		[]cell{{text: "联系电话", label: true}, {text: dash(d.Applicant.PhoneMasked)}, {text: addrLabel, label: true}, {text: dash(d.Applicant.Address)}},
		[]cell{{text: "受托人（乙方）", label: true}, {text: ctr.Name}, {text: "服务电话", label: true}, {text: dash(ctr.Phone)}},
		[]cell{{text: "代办员", label: true}, {text: agent}, {text: "办公地址", label: true}, {text: dash(ctr.Address)}},
	)
	c.table(parties)
}

// matters is section two: the matters delegated.
func (l agreementLayout) matters(c *canvas) {
	d := l.d
	c.heading("二、委托事项")
	if len(d.Matters) > 1 || d.Matters[0].Name != d.Title {
		c.paragraph("办理事项："+d.Title+"（共 "+strconv.Itoa(len(d.Matters))+" 个事项）", sizeCell, 0)
	}
	mt := &table{cols: cols(10, 52, 38, 14, 20),
		header: []cell{{text: "序号", label: true}, {text: "事项名称", label: true}, {text: "实施部门", label: true}, {text: "办理层级", label: true}, {text: "承诺时限", label: true}}}
	for i, m := range d.Matters {
		lim := "—"
		if m.LimitDays > 0 {
			lim = strconv.Itoa(m.LimitDays) + " 个工作日"
		}
		mt.rows = append(mt.rows, []cell{{text: strconv.Itoa(i + 1), align: 'C'}, {text: m.Name}, {text: dash(m.Department)}, {text: dash(m.Level), align: 'C'}, {text: lim, align: 'C'}})
	}
	c.table(mt)
}

// materials is section three: the materials handed over.
func (l agreementLayout) materials(c *canvas) {
	d := l.d
	c.heading("三、交接材料（甲方签订本协议时交付，双方已当面清点核对）")
	mat := &table{cols: cols(10, 80, 22, 22),
		header: []cell{{text: "序号", label: true}, {text: "材料名称", label: true}, {text: "原件/复印件", label: true}, {text: "页数", label: true}}}
	pages := 0
	for i, m := range d.Materials {
		pg := "—"
		if m.Pages > 0 {
			pg = strconv.Itoa(m.Pages)
			pages += m.Pages
		}
		mat.rows = append(mat.rows, []cell{{text: strconv.Itoa(i + 1), align: 'C'}, {text: m.Name}, {text: originalLabel(m.Original), align: 'C'}, {text: pg, align: 'C'}})
	}
	if len(d.Materials) == 0 {
		mat.rows = append(mat.rows, []cell{{text: "（本次未交接材料）", span: 4, align: 'C'}})
	} else {
		mat.rows = append(mat.rows, []cell{{text: "合计", label: true, span: 2}, {text: strconv.Itoa(len(d.Materials)) + " 件", align: 'C'}, {text: "共 " + strconv.Itoa(pages) + " 页", align: 'C'}})
	}
	c.table(mat)
}

// clauses is section four: the powers delegated and the terms.
func (l agreementLayout) clauses(c *canvas) {
	c.heading("四、委托权限与双方约定")
	clauses := []string{
		"甲方委托乙方指派代办员办理上述事项。乙方可代甲方：代为提交申请材料、代为领取办理结果、代为跟踪办理进度、代为按审批部门要求补正材料，以及代为接收办理过程中的通知并及时转告甲方。乙方不得超出上述权限，不得以甲方名义办理与本协议无关的事务。",
		"甲方保证所提供材料真实、合法、有效，并对其真实性负责；需甲方本人到场、签字或补充材料的，甲方应予配合。",
		"承诺时限 " + strconv.Itoa(l.limit) + " 个工作日，自协议签订之日的次日起算。甲方补正材料、本人到场、现场核查及法定中止等所需时间不计入时限，乙方应及时告知甲方。",
		"本代办服务免费。乙方及代办员不得以任何名义收取费用或接受甲方财物；依法应由甲方缴纳的行政事业性收费，由甲方按规定自行缴纳。",
		"保密义务：乙方及代办员对代办中知悉的个人信息、商业秘密及申请材料负有保密义务，仅用于办理本协议事项，不得泄露、出售或另作他用。",
		"甲方可随时书面终止委托，乙方收到通知后停止代办，并将已接收的材料和已取得的结果交还甲方。事项办结后，乙方凭签收单将结果及材料原件交还甲方，本协议终止。",
	}
	if strings.TrimSpace(l.d.Note) != "" {
		clauses = append(clauses, "其他约定："+l.d.Note)
	}
	for i, s := range clauses {
		c.clause(strconv.Itoa(i+1)+"．", s, sizeCell)
	}
}

func originalLabel(original bool) string {
	if original {
		return "原件"
	}
	return "复印件"
}

// dash prints an em dash for an empty value so a form never shows a blank
// that could be filled in later.
func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}
