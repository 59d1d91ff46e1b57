package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/daiban/daiban/agreements"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/cases/catalog"
	"github.com/daiban/daiban/cases/deadlines"
	"github.com/daiban/daiban/cases/notify"
	"github.com/daiban/daiban/policies/partners"
)

// TestTemplates parses every template (New) and executes every page with
// representative data — each variant a page has (empty, full, with form
// errors) — checking that the result is HTML, that nothing printed an
// unset value or a value html/template refused, and that the page says
// what a person would look for.
func TestTemplates(t *testing.T) {
	t.Parallel()
	p, err := New(Deps{Center: "沂源县政务服务中心"})
	if err != nil {
		t.Fatal(err)
	}
	agent := &userView{Username: "lishan.daiban", Name: "张喆", Role: "township_agent", RoleName: "镇街帮办代办员", Region: "370323001", Desk: true, Intake: true, Supervision: true}
	village := &userView{Username: "lishan.cun1", Name: "陈静", Role: "village_agent", RoleName: "村代办员", Region: "370323001001", Village: true}
	now := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)

	failed := blankForm("intake", "tok")
	failed.Values.Set("name", "王小明")
	failed.Values.Set("id_number", "370323199001011234")
	failed.Values.Set("kind", "person")
	failed.Values.Set("matter", "SP001")
	failed.Errors["id_number"] = "身份证号码有误：校验位不符或出生日期无效，请逐位核对"
	failed.Errors[""] = "请检查下面标红的内容"

	cs := sampleCase(now)
	full := &casePage{Case: cases.View(cs, true), Can: map[string]bool{"custody": true, "issue_notice": true, "agreement": true, "handover": true, "document": true},
		Actions: cases.Actions, Today: "2025-03-10", CSRF: "tok", Me: "lishan.daiban", forms: map[string]*form{},
		names: map[string]string{"lishan.daiban": "张喆"}, Agents: []agentOption{{"lishan.daiban", "张喆（镇街帮办代办员）"}, {"xian.daiban", "李堃（县级帮办代办员）"}}}
	for _, m := range cs.Materials {
		full.Materials = append(full.Materials, materialRow{Material: m, CanMove: true, Moves: cs.Custody})
	}
	full.failed = blankForm("review", "tok")
	full.failed.Values["material"] = []string{"ID_CARD"}
	full.failed.Errors["note"] = "说明 不能为空"
	full.failed.Errors["received.ID_CARD"] = "未收到的材料不能登记原件或页数"
	full.ReplyLate = true

	emptyCase := cases.Case{ID: 2, Number: "370323001-20250310-0002", Title: "残疾人证办理（新办）", State: cases.Consultation, LimitDays: 15, Documents: []cases.DocumentRef{}}
	bare := &casePage{Case: cases.View(emptyCase, false), Can: map[string]bool{}, forms: map[string]*form{}, names: map[string]string{}}

	signLink := &flash{Kind: "ok", Message: "委托协议已生成。", Link: "/sign/abc", LinkText: "在平板上打开签署页"}
	sealed := &cases.DocumentRef{ID: 9, Kind: "agreement", SHA256: strings.Repeat("ab", 32), IssuedAt: now}
	pending := cs
	pending.State = cases.AgreementPending
	ready := cs
	ready.State = cases.ReadyForHandover

	rows := []townRow{{Code: "370323001", Name: "历山街道", Total: 12, Open: 7, Overdue: 2, HandedOver: 4, OnTime: 3, Rated: 3, RatingSum: 12, Ratings: [5]int{0, 0, 1, 1, 1}},
		{Code: "370323101", Name: "鲁村镇"}}
	total := townRow{Name: "合计", Total: 12, Open: 7, Overdue: 2, HandedOver: 4, OnTime: 3, Rated: 3, RatingSum: 12, Ratings: [5]int{0, 0, 1, 1, 1}}
	ref := deadlines.CaseRef{ID: 1, Number: cs.Number, Title: cs.Title, State: "processing", StateName: "办理中", Handler: "lishan.daiban", Applicant: deadlines.Applicant{Name: "王**"}}
	sup := &supervisionData{Region: "370323001", RegionName: "历山街道", Today: "2025-03-10", Month: "2025-02", Rows: rows, Total: total,
		Charts: dashboardCharts(rows, total), CanSupervise: true, CanVerify: true, CanExport: true, CSRF: "tok", forms: map[string]*form{},
		Report: deadlines.Report{
			Overdue:        []deadlines.DeadlineItem{{CaseRef: ref, DueDate: "2025-03-01", WorkdaysOverdue: 5}},
			DueSoon:        []deadlines.DeadlineItem{{CaseRef: ref, DueDate: "2025-03-12", WorkdaysLeft: 2}},
			Escalated:      []deadlines.EscalationItem{{CaseRef: ref, LevelName: "省级", Authority: "山东省药品监督管理局", ReplyDue: "2025-03-08", Overdue: true}},
			Rectifications: []deadlines.RectificationItem{{CaseRef: ref, Rating: 2, Comment: "等待太久", DueDate: "2025-03-30"}},
		}}
	trackView := cases.Track(cs)
	trackView.CanRate = true
	evalFailed := blankForm("evaluate", "")
	evalFailed.Errors["comment"] = "评价意见 不能为空"
	info := &agreements.SignInfo{Kind: "agreement", Title: "代办服务委托协议书", CaseNumber: cs.Number, Matter: cs.Title, Applicant: "王**",
		ExpiresAt: now.Add(30 * time.Minute), Materials: []string{"身份证（原件，1 页）"}, LimitDays: 5, CenterName: "沂源县政务服务中心"}
	receipt := &agreements.SignInfo{Kind: "receipt", Title: "签收单", CaseNumber: cs.Number, Matter: cs.Title, Applicant: "王**", ExpiresAt: now, Items: []string{"食品经营许可证 JY123"}}
	info.Confirm = agreements.ConfirmationFor("person")
	company := *receipt
	company.Confirm = agreements.ConfirmationFor("enterprise")
	item := deskItem{ID: 1, Number: cs.Number, Title: cs.Title, Applicant: "王小明", Phone: "138****1201", State: cases.Processing, Due: "2025-03-12", Note: "还剩 2 个工作日"}

	tests := []struct {
		name, page string
		v          view
		want       []string
	}{
		{"login", "login", view{Data: loginData{Form: blankForm("login", ""), Next: "/desk"}}, []string{"工作人员登录", `name="next" value="/desk"`}},
		{"login error", "login", view{Data: loginData{Form: func() *form { f := blankForm("login", ""); f.Errors[""] = "用户名或密码错误"; return f }()}}, []string{"用户名或密码错误"}},
		{"home", "home", view{User: &userView{Name: "系统管理员", RoleName: "系统管理员", Region: "370323"}}, []string{"系统管理员不办理案件"}},
		{"error 401", "error", view{Title: "请先登录", Data: errorPage{Status: 401, Message: "请先登录", Login: true, Next: "/desk"}}, []string{"重新登录", "/login?next="}},
		{"error 403", "error", view{Title: "无权操作", User: agent, Data: errorPage{Status: 403, Message: "无权执行此操作"}}, []string{"无权执行此操作", "调整您的权限"}},
		{"error 404", "error", view{User: agent, Data: errorPage{Status: 404, Message: "未找到"}}, []string{"不在您的管辖范围内"}},
		{"desk", "desk", view{User: agent, CSRF: "tok", Data: deskData{Q: "王", Searched: true, Results: []deskItem{item},
			Buckets: []bucket{{Key: "new", Name: "新接待", Items: []deskItem{item}, Total: 1}, {Key: "overdue", Name: "已超期", Items: []deskItem{{ID: 3, Number: "X", Late: true, Note: "超期 2 个工作日"}}, Total: 130}, {Key: "ready", Name: "待交付"}},
			All:     true, Filter: deskFilter{Matter: "SP001", Sort: "-due"}, Problem: "筛选条件有误，已忽略：所选乡镇不在您的辖区内",
			Options: deskOptions{Handlers: []option{{"lishan.daiban", "张喆（lishan.daiban）"}}, Matters: []option{{"SP001", "食品经营许可（新办）"}}, Townships: []option{{"370323001", "历山街道"}}}}},
			[]string{"工作台", "查找“王”：1 件", "新接待", "超期 2 个工作日", "共 130 件，这里列出前 1 件", "暂无。", `name="csrf_token" value="tok"`,
				`<option value="SP001" selected>`, `<option value="-due" selected>`, "所选乡镇不在您的辖区内", "清除筛选", `href="/desk?matter=SP001&amp;sort=-due"`, "历山街道"}},
		{"notices", "notices", view{User: &userView{Username: "lishan.daiban", Name: "张喆", Desk: true, Unread: 1}, CSRF: "tok", Data: noticesData{Unread: 1, Older: "/notices?before=5",
			Items: []deadlines.Notice{{ID: 7, Kind: "supervise", KindName: "督办意见", CaseID: 1, Title: "督办：X", Body: "请加快办理", CreatedAt: now}, {ID: 6, Kind: "warn_3", KindName: "办理时限预警（3个工作日）", Title: "预警", Body: "b", CreatedAt: now, Read: true}}}},
			[]string{"督办意见", "请加快办理", `action="/notices/7/read"`, "未读 1 条", `id="unread-count"`, "全部标为已读", "/notices?before=5", "2025-03-10 17:30", `href="/cases/1"`}},
		{"intake", "intake", view{User: agent, Data: intakeData{Q: "食品", Form: failed, Found: 2,
			Matters: []matterOption{{Code: "SP001", Name: "食品经营许可（新办）", Department: "县市场监管局", Level: "county", Complexity: "general", LimitDays: 5, Materials: 6}},
			Chains:  []matterOption{{Code: "YJS001", Name: "开办餐馆一件事", Complexity: "general", LimitDays: 5, Members: []string{"个体工商户设立登记", "食品经营许可（新办）"}}},
			Regions: []regionGroup{{Name: "历山街道", Options: []regionOption{{"370323001", "历山街道（镇街本级）"}, {"370323001001", "城关村"}}}}}},
			[]string{"食品经营许可（新办）", "开办餐馆一件事", "校验位不符", `value="SP001" checked`, "请检查下面标红的内容", `value="王小明"`, "县级审批"}},
		{"intake nothing found", "intake", view{User: agent, Data: intakeData{Q: "火星", Form: blankForm("intake", "tok")}}, []string{"没有找到与“火星”匹配的事项"}},
		{"village new", "village_new", view{User: village, Data: intakeData{Form: failed, OneRegion: &regionOption{"370323001001", "城关村"},
			Matters: []matterOption{{Code: "SP001", Name: "食品经营许可（新办）"}}}}, []string{"新建代办", "城关村", `name="idem"`, "校验位不符"}},
		{"village", "village", view{User: village, Data: villageData{User: "lishan.cun1", Open: []deskItem{item}, DoneCount: 2}},
			[]string{"新建代办", "原件移交", "办理中", cs.Number, "已结束的代办（2 件）", `rel="manifest"`, "/static/village.js", `data-user="lishan.cun1"`, "列表更新于"}},
		{"village done", "village", view{User: village, Data: villageData{DonePage: true}}, []string{"已结束", "暂无。", "返回我的代办"}},
		{"village new materials", "village_new", view{User: village, Data: intakeData{Form: blankForm("intake", "tok"), OneRegion: &regionOption{"370323001001", "城关村"},
			Matters: []matterOption{{Code: "SP001", Name: "食品经营许可（新办）", Mats: []catalog.Material{{Code: "ID_CARD", Name: "身份证", Original: true, Count: 1}}}}}},
			[]string{`data-matter="SP001" hidden`, "身份证（原件 1 份）", `rel="manifest"`, `id="outbox"`}},
		{"village custody", "village_custody", view{User: village, Data: villageCustodyData{User: "lishan.cun1", CSRF: "tok",
			Errands: []custodyErrand{{ID: 3, Number: cs.Number, Title: "食品经营许可", Applicant: "王**", Materials: []custodyMaterial{{Code: "ID_CARD", Name: "身份证", Holder: "applicant", HolderName: "申请人", Count: 1, Idem: "k"}}}},
			Agents:  []agentOption{{"lishan.daiban", "张喆（镇街帮办代办员）"}}}},
			[]string{"原件移交", cs.Number, `action="/cases/3/custody"`, `data-outbox="custody"`, `<option value="lishan.cun1">我本人</option>`, "张喆（镇街帮办代办员）", `name="csrf_token" value="tok"`}},
		{"case full", "case", view{User: agent, CSRF: "tok", Data: full}, []string{cs.Number, "王小明", "材料初审", "说明 不能为空", "未收到的材料不能登记原件或页数",
			// The summary at the top of the refused form links to each field.
			`id="review-summary" role="alert" tabindex="-1">`, "未保存：2 处需要修改", `<a href="#review-note">说明 不能为空</a>`,
			`<a href="#review-received-ID-CARD">未收到的材料不能登记原件或页数</a>`, `id="review-received-ID-CARD" name="received.ID_CARD"`,
			"转报上级", "山东省药品监督管理局", "已逾期", "食品经营许可证", "登记原件移交", "一次告知单", "非常满意", "差评整改", "办理记录", "申请人可见",
			`name="version" value="7"`, "督办意见", "确认终止", `data-confirm=`}},
		{"case bare", "case", view{User: village, Data: bare}, []string{"尚无盖章文书", "本事项没有需要收取的材料"}},
		{"case receipt link", "case", view{User: village, Data: bare}, []string{`href="/cases/2/receipt"`, "受理回执"}},
		{"receipt", "receipt", view{User: agent, Data: receiptData{CaseID: 1, A5: true, Notice: pdf.IntakeNotice, IntakeReceipt: agreements.IntakeReceipt{
			IntakeData: pdf.IntakeData{CaseNumber: cs.Number, Title: "开办餐馆一件事", ApplicantName: "欧阳喆", IDNumber: "3703**********1234", Channel: "窗口接待", AgentName: "张喆",
				Matters:   []pdf.IntakeMatter{{Name: "个体工商户设立登记", Department: "县行政审批服务局"}, {Name: "食品经营许可（新办）", Department: "县市场监管局"}},
				Materials: []pdf.IntakeMaterial{{Name: "身份证", Original: true, Pages: 1}, {Name: "经营场所证明"}}, RegisteredAt: now, LimitDays: 5, DueDate: "2025-03-17", TrackingCode: "ABCDEFGH2345"},
			Center: pdf.Center{Name: "沂源县政务服务中心", Address: "沂源县胜利路 17 号", Phone: "0533-3241234"}, TrackURL: "http://127.0.0.1:8080/track/ABCDEFGH2345", Limit: "本案件应于 2025年3月17日 前办结。"}}},
			[]string{"受理回执", cs.Number, "2025-03-10 17:30（北京时间）", "欧阳喆", "3703**********1234", "个体工商户设立登记（县行政审批服务局）", "食品经营许可（新办）（县市场监管局）",
				"<td>1</td><td>身份证</td><td>原件</td><td>1</td>", "<td>经营场所证明</td><td>复印件</td><td>—</td>", "2025年3月17日", "ABCDEFGH2345", "data:image/png;base64,",
				"沂源县胜利路 17 号", "0533-3241234", "本回执为受理凭证", `class="card receipt a5"`, `href="/cases/1/receipt.pdf"`}},
		{"receipt nothing received", "receipt", view{User: village, Data: receiptData{CaseID: 2, IntakeReceipt: agreements.IntakeReceipt{
			IntakeData: pdf.IntakeData{CaseNumber: "X-1", Title: "残疾人证办理（新办）", ApplicantName: "王小明", Matters: []pdf.IntakeMatter{{Name: "残疾人证办理（新办）", Department: "县残联"}}, TrackingCode: "T"},
			TrackURL:   "http://x/track/T"}}}, []string{"尚未收取材料", "<dt>实施部门</dt><dd>县残联</dd>", `id="paper-a5"`}},
		{"agreement draft with link", "agreement", view{User: agent, CSRF: "tok", Flash: signLink, Base: "http://127.0.0.1:8080",
			Data: &signingPage{Case: cases.View(pending, true), Draft: &agreements.Status{Signed: []string{"applicant"}}, ApplicantSigned: true, Form: blankForm("agreement", "tok"), CSRF: "tok"}},
			[]string{"申请人已签名", "代办员待签名", "在平板上打开签署页", "data:image/png;base64,", "http://127.0.0.1:8080/sign/abc", "/static/sign.js", `data-csrf="tok"`}},
		{"agreement none", "agreement", view{User: agent, Data: &signingPage{Case: cases.View(pending, true), Form: blankForm("agreement", "tok")}}, []string{"生成委托协议"}},
		{"agreement sealed", "agreement", view{User: agent, Data: &signingPage{Case: cases.View(cs, true), Sealed: sealed, Form: blankForm("agreement", "tok")}}, []string{"已签订并盖章生效", "/api/v1/documents/9"}},
		{"agreement wrong state", "agreement", view{User: agent, Data: &signingPage{Case: cases.View(emptyCase, true), Form: blankForm("agreement", "tok")}}, []string{"不能签订委托协议"}},
		{"handover checklist", "handover", view{User: agent, Data: &signingPage{Case: cases.View(ready, true), Form: func() *form {
			f := blankForm("receipt", "tok")
			f.Values.Set("verified", "11")
			f.Errors[""] = "以下项目尚未核验：身份证（原件）"
			return f
		}()}}, []string{"逐项核验", "以下项目尚未核验", `value="11" checked`, "食品经营许可证"}},
		{"handover waiting", "handover", view{User: agent, Flash: signLink, Base: "http://x", Data: &signingPage{Case: cases.View(ready, true), Draft: &agreements.Status{}, Form: blankForm("receipt", "tok")}}, []string{"等待申请人签收", "在平板上打开签署页"}},
		{"handover done", "handover", view{User: agent, Data: &signingPage{Case: cases.View(cs, true), Sealed: sealed, Form: blankForm("receipt", "tok")}}, []string{"申请人已签收", "打开签收单"}},
		{"supervision", "supervision", view{User: agent, CSRF: "tok", Flash: &flash{Kind: "bad", Message: "台账校验失败：序号 3：记录被修改"}, Data: sup},
			[]string{"督查 · 历山街道", "<svg", "各镇街在办与超期件数", "按时办结率", "75%", "4.0", "超期 5 个工作日", "督办", "校验台账", "/api/v1/ledger/export.csv", "/supervision/report", `value="2025-02"`, "台账校验失败", "等待太久"}},
		{"verify found", "verify", view{Data: verifyData{Key: "K", Result: &agreements.Verification{Title: "代办服务委托协议书", Center: "沂源县政务服务中心", IssuedAt: now, SHA256: "ab", VerifyCode: "ABCDEFGH23", CaseNumber: "3703****-0001",
			Ledger: &agreements.Proof{Index: 4, TreeSize: 10, Root: "cm9vdA=="}}}}, []string{"已加盖电子签章", "第 4 条"}},
		{"verify not found", "verify", view{Data: verifyData{Key: "nope"}}, []string{"未找到该文书", `value="nope"`}},
		{"verify lookup", "verify", view{Data: verifyData{}}, []string{"10 位核验码"}},
		{"track", "track", view{Flash: &flash{Kind: "ok", Message: "感谢您的评价！"}, Data: trackData{Code: "ABC", Looked: true, Case: &trackView, Form: evalFailed}},
			[]string{"办件进度查询", "已提交审批局", "评价本次代办服务", "评价意见 不能为空", "非常满意", "感谢您的评价"}},
		{"handover by post", "handover", view{User: agent, Data: &signingPage{Case: cases.View(ready, true), Delivery: &cases.DeliveryView{Method: cases.ByPost}, Form: blankForm("receipt", "tok")}},
			[]string{"邮寄信息", "承运商", "运单号", "收件地址", "登记寄出"}},
		{"handover posted", "handover", view{User: agent, Data: &signingPage{Case: cases.View(ready, true), Draft: &agreements.Status{}, Form: blankForm("receipt", "tok"),
			Delivery: &cases.DeliveryView{Method: cases.ByPost, Carrier: "EMS", Waybill: "1180245678901", AddressMasked: "山东省淄博市****", DispatchedAt: &now}}},
			[]string{"已寄出，等待确认送达", "1180245678901", "山东省淄博市****", "录入签收凭证并办结"}},
		{"track posted", "track", view{Data: trackData{Code: "ABC", Looked: true, Case: &cases.TrackView{Number: "N1", Title: "开办餐馆一件事", State: cases.ReadyForHandover, StateName: "待交付",
			ChainProgress: []cases.MatterProgress{{Matter: "GT001", Status: cases.MatterDone, Name: "部门已办结", At: "2026-09-22"}}},
			Form: blankForm("evaluate", "tok"), Posted: &cases.DeliveryView{Method: cases.ByPost, Carrier: "EMS", Waybill: "1180245678901"}, DeliveryForm: blankForm("delivery", "tok")}},
			[]string{"办理结果已邮寄", "1180245678901", "短信确认码", "各事项进度", "部门已办结", `action="/track/ABC/delivery"`}},
		{"track not found", "track", view{Data: trackData{Code: "ZZZ", Looked: true, Form: blankForm("evaluate", "")}}, []string{"查询码不存在"}},
		{"sign agreement", "sign", view{Title: "代办服务委托协议书", Data: signData{Info: info, Token: "tkn"}}, []string{"请签名确认", "本代办服务全程免费", "/api/v1/sign/tkn", "身份证号码后四位", "撤销一笔", "恢复一笔", "清除重签", "/static/sign.js"}},
		{"sign receipt", "sign", view{Data: signData{Info: receipt, Token: "tkn"}}, []string{"食品经营许可证 JY123"}},
		{"sign pages", "sign", view{Data: signData{Info: &company, Token: "tkn", Pages: []int{1, 2}, CopyUses: 5}},
			[]string{`src="/sign/tkn/pages/1"`, `src="/sign/tkn/pages/2"`, "共 2 页", "统一社会信用代码后四位", `pattern="[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{4}"`, "最多可下载 5 次", "copy-qr"}},
		{"sign invalid", "sign", view{Data: signData{Error: "签署链接无效、已使用或已过期"}}, []string{"签署链接无效"}},
		// 办事指南 and 预约 (issue 17).
		{"guides", "guides", view{Data: guideIndexData{Chains: []catalog.GuideEntry{{Kind: "chain", Code: "YJS001", Name: "开办餐馆一件事"}},
			Matters: []catalog.GuideEntry{{Kind: "matter", Code: "GT001", Name: "个体工商户设立登记", Department: "县行政审批服务局", LimitDays: 1}}}},
			[]string{"办事指南", "/guide/YJS001", "开办餐馆一件事", "承诺 1 个工作日"}},
		{"guides none", "guides", view{Data: guideIndexData{Q: "没有"}}, []string{"没有找到相关事项"}},
		{"guide", "guide", view{Data: sampleGuide()}, []string{"个体工商户设立登记", "未公布（请向窗口咨询）", "不收费", "帮办代办服务免费", "12345", "/guide/GT001.pdf", "原件 1 份", "空白表格", "县行政审批服务局 · 1 个工作日"}},
		{"guide missing", "guide", view{Data: guideData{GuideView: catalog.GuideView{Code: "NOPE"}}}, []string{"没有编码为 NOPE 的事项"}},
		{"appointments pick", "appointments", view{Data: bookData{Townships: []regionOption{{"370323001", "历山街道"}}, Form: blankForm("book", "tok")}},
			[]string{"网上预约", "历山街道便民服务中心", "查看可预约时段"}},
		{"appointments slots", "appointments", view{Data: sampleBook()}, []string{`value="2026-09-21/am"`, "余 2 个", "已约满", "开办餐馆一件事", "手机号码", "已约满，请选择其他时段"}},
		{"booking", "booking", view{Data: bookingData{Title: "开办餐馆一件事", Form: blankForm("booking", "tok"), Booking: &appointments.Appointment{Code: "ABCDE23456", Status: "booked", StatusName: "待确认",
			Label: "9月21日 周一 上午", Name: "张喆", PhoneMasked: "138****1201"}}}, []string{"ABCDE23456", "短信确认码", "取消预约", "138****1201", "开办餐馆一件事"}},
		{"booking missing", "booking", view{Data: bookingData{Code: "NOPE", Form: blankForm("booking", "tok")}}, []string{"预约码 NOPE 不存在"}},
		{"slots", "slots", view{User: agent, Data: slotsData{Townships: []regionOption{{"370323001", "历山街道"}}, Names: map[string]string{"370323001": "历山街道"}, Form: blankForm("slots", "tok"),
			Slots: []appointments.Slot{{Region: "370323001", Label: "9月21日 周一 上午", Capacity: 5, Booked: 2}}, Opened: &appointments.Opened{Slots: []appointments.Slot{{}}, Skipped: []string{"2026-10-01"}}}},
			[]string{"开放预约时段", "已开放 1 个时段", "2026-10-01", "9月21日 周一 上午"}},
		{"partners", "partners", view{User: &userView{Username: "admin", Name: "管理员", Partners: true}, CSRF: "tok", Data: partnersData{
			Items: []partners.Partner{{ID: 1, Name: "县 12345 热线", Kind: partners.Hotline, WebhookURL: "https://12345.example/hook", KeyPrefix: "0a1b2c3d", LastDelivery: &now, Failures: 3, Dead: 1},
				{ID: 2, Name: "旧网关", Kind: partners.SMS, KeyPrefix: "ffffffff", RevokedAt: &now}},
			Dead:  []notify.DeadLetter{{ID: 7, CaseNumber: "370323001-20250301-0001", Event: notify.Intake, EventName: "受理", Attempts: 10, LastError: "connection refused", LastAttempt: &now}},
			Kinds: partners.Kinds, NewKey: "dbk_0a1b2c3d_secret", Added: "县 12345 热线", Manage: true}},
			[]string{"合作方与通知投递", "12345 热线", "dbk_0a1b2c3d_secret", "只显示这一次", `id="revoke-1"`, "已吊销", "/notifications/7/resend", "connection refused", `href="/partners"`}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.page] = true
			tc.v.Center = p.Center
			if tc.v.Title == "" {
				tc.v.Title = tc.name
			}
			var buf bytes.Buffer
			if err := p.pages[tc.page].ExecuteTemplate(&buf, "layout", tc.v); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if _, err := html.Parse(strings.NewReader(out)); err != nil {
				t.Fatalf("not HTML: %v", err)
			}
			for _, bad := range []string{"<no value>", "ZgotmplZ", "%!"} {
				if strings.Contains(out, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	for _, name := range pageNames {
		if !seen[name] {
			t.Errorf("page %s has no template test", name)
		}
	}
}

// sampleCase is a case with something in every part.
func sampleCase(now time.Time) cases.Case {
	replied := now.Add(-time.Hour)
	return cases.Case{
		ID: 1, Number: "370323001-20250310-0001", TrackingCode: "ABCDEFGH2345", Region: "370323001001", Channel: "counter",
		Title: "食品经营许可（新办）", Matters: []string{"SP001"}, Complexity: "general", LimitDays: 5,
		Applicant: cases.Applicant{Kind: "person", Name: "王小明", IDNumber: "370323199001011234", Phone: "13800001201"},
		Summary:   "开小饭馆", State: cases.Closed, Outcome: "handed_over", Version: 7, CreatedBy: "lishan.daiban", Assignee: "lishan.daiban",
		CreatedAt: now, UpdatedAt: now, DueDate: "2025-03-17", Rating: 5, RatingComment: "很满意",
		Materials: []cases.Material{{Code: "ID_CARD", Name: "身份证", RequiredOriginal: true, RequiredCount: 1, Received: true, Original: true, Pages: 1, Holder: "applicant"},
			{Code: "PREMISES_PROOF", Name: "经营场所证明", RequiredCount: 1, Holder: "department:县市场监管局"}},
		Escalation:    &cases.Escalation{Level: "province", Authority: "山东省药品监督管理局", Tracker: "lishan.daiban", ReplyDue: "2025-03-08", CreatedAt: now},
		Escalations:   []cases.Escalation{{Level: "province", Authority: "山东省药品监督管理局", ReplyDue: "2025-03-08", CreatedAt: now, RepliedAt: &replied, Outcome: "approved"}},
		HandoverItems: []cases.HandoverItem{{ID: 10, Kind: "licence", Name: "食品经营许可证", Number: "JY123", Verified: true}, {ID: 11, Kind: "material", Name: "身份证（原件）"}},
		Timeline: []cases.Event{{At: now, Actor: "lishan.daiban", Type: "case.created", Name: "接待登记"},
			{At: now, Actor: "lishan.daiban", Type: "case.progress", Name: "办理进展", Step: "报送", Note: "已提交审批局", Public: "已提交审批局"}},
		Custody:       []cases.CustodyMove{{Material: "ID_CARD", From: "applicant", To: "lishan.daiban", Count: 1, At: now}},
		Rectification: &cases.Rectification{Rating: 2, Status: "open", DueDate: "2025-03-30"},
		Documents:     []cases.DocumentRef{{ID: 5, Kind: "notice", SHA256: strings.Repeat("cd", 32), IssuedAt: now}},
	}
}

// sampleGuide is a one-matter guide with some fields published and some not.
func sampleGuide() guideData {
	m := catalog.Matter{Code: "GT001", Name: "个体工商户设立登记", Department: "县行政审批服务局", Level: "county", LimitDays: 1,
		Materials: []catalog.Material{{Code: "ID_CARD", Name: "申请人居民身份证", Original: true, Count: 1, Source: "申请人", BlankForm: "https://example.gov.cn/form.docx"}},
		Guide:     catalog.Guide{Fees: "不收费"}}
	g := catalog.GuideView{Kind: "matter", Code: "GT001", Name: m.Name, Matters: []catalog.Matter{m}, ServiceFee: catalog.ServiceFee, Complaints: catalog.Complaints}
	steps, _ := m.FlowOrDefault()
	return guideData{GuideView: g, Items: []guideMatterView{{Matter: m, N: 1, LevelName: "县级", Steps: steps}}}
}

// sampleBook is the booking form of a township with slots, one full, after
// a refused booking.
func sampleBook() bookData {
	f := blankForm("book", "tok")
	f.Values.Set("matter", "YJS001")
	f.Errors["slot"] = "2026-09-21 下午 已约满，请选择其他时段"
	return bookData{Region: "370323001", Matter: "YJS001", Form: f, Townships: []regionOption{{"370323001", "历山街道"}},
		Chains: []catalog.GuideEntry{{Kind: "chain", Code: "YJS001", Name: "开办餐馆一件事"}},
		Slots: []appointments.Slot{{Key: "2026-09-21/am", Label: "9月21日 周一 上午", Capacity: 5, Booked: 3, Remaining: 2},
			{Key: "2026-09-21/pm", Label: "9月21日 周一 下午", Capacity: 3, Booked: 3}}}
}
