package catalog

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/daiban/daiban"
)

// Guide holds the 办事指南 fields of a matter that a department publishes.
// An empty field means it has not been published (or not yet entered): the
// guide page says so rather than guess, and nothing here is invented.
type Guide struct {
	// Conditions are the 受理条件.
	Conditions string `json:"conditions,omitempty"`
	// LegalBasis is the 设定依据 exactly as the department publishes it.
	LegalBasis string `json:"legal_basis,omitempty"`
	// Fees are the department's fees (收费标准); the 代办 service itself
	// is always free and the guide says so apart from this field.
	Fees string `json:"fees,omitempty"`
	// OfficeHours are when the window is open (办理时间).
	OfficeHours string `json:"office_hours,omitempty"`
	// Phone is the window's consultation number (咨询电话).
	Phone string `json:"phone,omitempty"`
	// Flow is the department's 办理流程; empty means the guide shows the
	// center's own four steps around the promised limit.
	Flow []FlowStep `json:"flow,omitempty"`
}

// FlowStep is one step of a matter's 办理流程: what happens, who does
// it, and in how many working days (0: not stated).
type FlowStep struct {
	Step string `json:"step"`
	Who  string `json:"who"`
	Days int    `json:"days"`
}

// Text limits of the guide fields (characters).
const (
	maxGuideText = 4000
	maxShortText = 200
	maxFlowSteps = 20
)

func (g Guide) validate(f string) error {
	for _, t := range []struct {
		name, value string
		max         int
	}{
		{"conditions", g.Conditions, maxGuideText}, {"legal_basis", g.LegalBasis, maxGuideText},
		{"fees", g.Fees, maxShortText * 5}, {"office_hours", g.OfficeHours, maxShortText}, {"phone", g.Phone, 50},
	} {
		if !utf8.ValidString(t.value) || utf8.RuneCountInString(t.value) > t.max {
			return daiban.Invalid(f+"."+t.name, "%s 过长（最多 %d 字）或含无效字符", fieldNames[t.name], t.max)
		}
	}
	if len(g.Flow) > maxFlowSteps {
		return daiban.Invalid(f+".flow", "办理流程最多 %d 步", maxFlowSteps)
	}
	for i, st := range g.Flow {
		ff := fmt.Sprintf("%s.flow[%d]", f, i)
		switch {
		case strings.TrimSpace(st.Step) == "" || utf8.RuneCountInString(st.Step) > maxShortText:
			return daiban.Invalid(ff+".step", "办理流程第 %d 步缺少步骤名称或过长", i+1)
		case utf8.RuneCountInString(st.Who) > maxShortText:
			return daiban.Invalid(ff+".who", "办理流程第 %d 步的办理人过长", i+1)
		case st.Days < 0 || st.Days > 365:
			return daiban.Invalid(ff+".days", "办理流程第 %d 步的工作日应为 0 至 365", i+1)
		}
	}
	return nil
}

func (m Material) validateGuide(f string) error {
	if utf8.RuneCountInString(m.Source) > maxShortText {
		return daiban.Invalid(f+".source", "材料 %s 的来源过长（最多 %d 字）", m.Code, maxShortText)
	}
	for name, u := range map[string]string{"blank_form": m.BlankForm, "sample": m.Sample} {
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || len(u) > 500 {
			return daiban.Invalid(f+"."+name, "材料 %s 的%s应为 http(s) 网址", m.Code, fieldNames[name])
		}
	}
	return nil
}

// fieldNames are the Chinese names of the catalog's fields, for messages
// and for the CSV format's documentation.
var fieldNames = map[string]string{
	"code": "事项编码", "name": "事项名称", "department": "实施部门", "level": "审批层级", "limit_days": "承诺时限",
	"complexity": "复杂程度", "where": "办理地点", "conditions": "受理条件", "legal_basis": "设定依据", "fees": "收费标准",
	"office_hours": "办理时间", "phone": "咨询电话", "flow": "办理流程", "source": "来源", "blank_form": "空白表格", "sample": "示例样表",
}

// DefaultFlow is the flow a guide shows when the department has published
// none: the center's own steps (DESIGN: 接待咨询, 受理委托, 跟踪办理,
// 情况反馈) around the department's promised limit, which is catalog data.
func (m Matter) DefaultFlow() []FlowStep {
	return []FlowStep{
		{Step: "接待咨询、一次告知所需材料", Who: "帮办代办员", Days: 0},
		{Step: "材料初审、签订代办委托协议", Who: "帮办代办员与申请人", Days: 0},
		{Step: "审查决定（承诺时限）", Who: m.Department, Days: m.LimitDays},
		{Step: "结果交付（窗口签收或邮寄送达）", Who: "帮办代办员", Days: 0},
	}
}

// FlowOrDefault is the published flow, or DefaultFlow.
func (m Matter) FlowOrDefault() (steps []FlowStep, published bool) {
	if len(m.Flow) > 0 {
		return m.Flow, true
	}
	return m.DefaultFlow(), false
}

// GuideView is a public 办事指南: one matter, or a 一件事 chain with each
// of its matters in order.
type GuideView struct {
	Kind        string   `json:"kind"` // matter | chain
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Matters     []Matter `json:"matters"`
	// SharedMaterials are the materials two or more matters of a chain
	// need: the applicant brings them once.
	SharedMaterials []string `json:"shared_materials,omitempty"`
	// ServiceFee is always 免费: the 代办 service costs nothing.
	ServiceFee string `json:"service_fee"`
	// Complaints are the tracking and complaint channels.
	Complaints []string `json:"complaints"`
}

// ServiceFee is what the guides say about the 代办 service's own price.
const ServiceFee = "帮办代办服务免费，不收取任何费用"

// Complaints are the channels every guide lists.
var Complaints = []string{
	"凭委托协议书上的查询码在本网站“办件进度查询”（/track）查看进度",
	"12345 政务服务便民热线：咨询、投诉、建议",
}

// Guide returns the guide of a matter or chain code, or not_found.
func (s *Store) Guide(ctx context.Context, code string) (_ GuideView, err error) {
	defer daiban.Wrap(&err, "catalog: guide %s", code)
	if m, err := s.Get(ctx, code); err == nil {
		return GuideView{Kind: "matter", Code: m.Code, Name: m.Name, Matters: []Matter{m}, ServiceFee: ServiceFee, Complaints: Complaints}, nil
	} else if daiban.ErrorCode(err) != daiban.ENOTFOUND {
		return GuideView{}, err
	}
	chains, err := s.Chains(ctx)
	if err != nil {
		return GuideView{}, err
	}
	for _, ch := range chains {
		if ch.Code != code {
			continue
		}
		g := GuideView{Kind: "chain", Code: ch.Code, Name: ch.Name, Description: ch.Description, ServiceFee: ServiceFee, Complaints: Complaints}
		count := map[string]int{}
		for _, mc := range ch.Matters {
			m, err := s.Get(ctx, mc)
			if err != nil {
				return GuideView{}, err
			}
			g.Matters = append(g.Matters, m)
			for _, x := range m.Materials {
				count[x.Name]++
				if count[x.Name] == 2 {
					g.SharedMaterials = append(g.SharedMaterials, x.Name)
				}
			}
		}
		return g, nil
	}
	return GuideView{}, daiban.Errorf(daiban.ENOTFOUND, "没有编码为 %q 的事项或一件事", code)
}
