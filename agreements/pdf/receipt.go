package pdf

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// ReceiptItem is one result or returned material handed over in person.
type ReceiptItem struct {
	Kind     string // "licence" | "approval" | "material" | "other" (or a Chinese label)
	Name     string
	Number   string // certificate or document number, optional
	Verified bool   // checked by the agent; every item must be
}

// ReceiptData is the content of a handover receipt (签收单).
type ReceiptData struct {
	CaseNumber         string
	Title              string
	ApplicantName      string
	Items              []ReceiptItem
	AgentName          string
	ApplicantSignature []byte // normalized PNG, nil = not yet signed
	SignedAt           time.Time
	VerifyCode         string
	// Post, when set, says the results went by post (证照到付) and how
	// the delivery was confirmed; empty for a handover in person.
	Post *ReceiptPost
}

// ReceiptPost is a postal delivery as the receipt states it.
type ReceiptPost struct {
	Carrier string
	Waybill string
	// ByCarrier: confirmed by the carrier's signed proof (the image in
	// ApplicantSignature is that proof), not by the applicant's phone.
	ByCarrier bool
}

// kindLabels are the printed names of handover item kinds.
var kindLabels = map[string]string{
	"licence":  "证照",
	"license":  "证照",
	"approval": "批准文书",
	"material": "退还材料",
	"other":    "其他",
}

// Receipt renders the handover receipt; see ReceiptCtx.
func (r *Renderer) Receipt(d ReceiptData) ([]byte, error) {
	return r.ReceiptCtx(context.Background(), d)
}

// ReceiptCtx renders the handover receipt, giving up with an EUNAVAILABLE
// error if ctx ends while waiting for a rendering slot. Every item must be
// verified by the agent.
func (r *Renderer) ReceiptCtx(ctx context.Context, d ReceiptData) ([]byte, error) {
	if err := r.checkReceipt(d); err != nil {
		return nil, err
	}
	sig, err := checkSignature("applicant_signature", d.ApplicantSignature)
	if err != nil {
		return nil, err
	}
	l := receiptLayout{d: d, ctr: r.center, signed: date(d.SignedAt)}
	if _, l.verifyQR, err = r.qr("/verify/", d.VerifyCode); err != nil {
		return nil, err
	}
	images := map[string][]byte{}
	if sig != nil {
		images["sig-applicant"] = sig
		l.sigImg = "sig-applicant"
	}
	return r.render(ctx, docMeta{title: "办理结果签收单 " + d.CaseNumber, caseNo: d.CaseNumber, created: d.SignedAt}, images, l.layout)
}

// checkReceipt checks every field of d.
func (r *Renderer) checkReceipt(d ReceiptData) error {
	k := &checker{f: r.fonts}
	k.required("case_number", "案件编号", d.CaseNumber, maxShort)
	k.required("title", "办理事项", d.Title, maxLine)
	k.required("applicant_name", "申请人姓名或名称", d.ApplicantName, maxLine)
	k.required("agent_name", "代办员姓名", d.AgentName, maxShort)
	k.code("verify_code", "验证码", d.VerifyCode, true)
	if d.Post != nil {
		k.required("post.carrier", "承运商", d.Post.Carrier, maxShort)
		k.required("post.waybill", "运单号", d.Post.Waybill, maxShort)
	}
	if len(d.Items) == 0 {
		k.fail("items", "签收单至少应有一项办理结果或退还材料")
	}
	if len(d.Items) > maxItems {
		k.fail("items", "签收项目过多（最多 %d 项）", maxItems)
	}
	for i, it := range d.Items {
		p := fmt.Sprintf("items[%d].", i)
		if _, ok := kindLabels[it.Kind]; !ok {
			k.required(p+"kind", "类别", it.Kind, maxShort)
		}
		k.required(p+"name", "名称", it.Name, maxLine)
		k.text(p+"number", it.Number, maxShort)
		if !it.Verified {
			k.fail(p+"verified", "第 %d 项「%s」尚未经代办员核验，不能出具签收单", i+1, it.Name)
		}
	}
	return k.err
}

// receiptLayout lays out one handover receipt.
type receiptLayout struct {
	d        ReceiptData
	ctr      Center
	signed   string // the date as printed
	sigImg   string // the signature image's name, "" when unsigned
	verifyQR [][]bool
}

func (l receiptLayout) layout(c *canvas) {
	d := l.d
	c.title("办理结果签收单")
	c.metaRow("案件编号："+d.CaseNumber, "签收日期："+l.signed)
	info := &table{cols: cols(18, 37, 18, 37)}
	info.rows = [][]cell{
		{{text: "办理事项", label: true}, {text: d.Title, span: 3}},
		{{text: "申请人", label: true}, {text: d.ApplicantName}, {text: "经办代办员", label: true}, {text: d.AgentName}},
	}
	c.table(info)
	c.space(2)
	c.heading("交付清单")
	l.items(c)
	c.space(2)
	text, signer := "以上办理结果及退还材料共 "+strconv.Itoa(len(d.Items))+" 项，已由代办员逐项核验并当面交付。本人已当场核对，数量齐全、内容无误，确认签收。", "签收人（申请人）签字："
	if p := d.Post; p != nil {
		text = "交付方式：邮寄送达（证照到付），承运商 " + p.Carrier + "，运单号 " + p.Waybill + "。以上办理结果及退还材料共 " + strconv.Itoa(len(d.Items)) + " 项，已由代办员逐项核验后封装寄出。"
		if p.ByCarrier {
			text += "送达以承运人签收凭证为准（见下方图像，由代办员录入）。"
			signer = "承运人签收凭证："
		} else {
			text += "申请人已收到邮件，在手机上凭确认码核对并签名确认签收。"
			signer = "签收人（申请人）手机签名："
		}
	}
	c.paragraph(text, sizeBody, 2)
	c.closing(2, 2, []signBox{
		{label: signer, image: l.sigImg, date: "日期：" + l.signed},
		{label: "交付人：" + l.ctr.Name + "（电子签章）", sublabel: "代办员：", text: d.AgentName, date: "日期：" + l.signed},
	}, []qrItem{{bits: l.verifyQR, caption: "扫码核验文书", lines: []string{
		"验证码：" + d.VerifyCode,
		"扫描左侧二维码可核验本签收单由" + l.ctr.Name + "出具且未被篡改；本签收单加盖电子签章（PDF 数字签名），改动即失效。",
	}}})
}

// items is the table of what is handed over.
func (l receiptLayout) items(c *canvas) {
	items := &table{cols: cols(10, 18, 50, 32, 20),
		header: []cell{{text: "序号", label: true}, {text: "类别", label: true}, {text: "名称", label: true}, {text: "证照/文书编号", label: true}, {text: "代办员核验", label: true}}}
	for i, it := range l.d.Items {
		kind := kindLabels[it.Kind]
		if kind == "" {
			kind = it.Kind
		}
		items.rows = append(items.rows, []cell{
			{text: strconv.Itoa(i + 1), align: 'C'}, {text: kind, align: 'C'}, {text: it.Name}, {text: dash(it.Number)},
			{text: "✓ 已核验", align: 'C'},
		})
	}
	c.table(items)
}
