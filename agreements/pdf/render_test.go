package pdf_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/font/sfnt"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

// ---------------------------------------------------------------------------
// Generated test data

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "亓", "翟", "逯", "鞠", "扈", "笪", "禚", "蒯",
		"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "令狐", "公孙", "尉迟", "长孙", "宇文", "澹台", "夏侯", "端木", "万俟"}
	givenChars = []string{"喆", "堃", "犇", "淼", "㛃", "𠇔", "𪚥", "鑫", "垚", "焱", "昇", "彧", "婧", "祎", "翀", "玥", "珺", "瑄",
		"琛", "頔", "燚", "骉", "昱", "晗", "梓", "涵", "芃", "䶮", "赟", "嫚", "甡", "龑", "昶", "曌", "槿", "湉", "伟", "芳", "强", "敏"}
	towns    = []string{"南麻街道", "历山街道", "悦庄镇", "燕崖镇", "中庄镇", "张家坡镇", "西里镇", "东里镇", "石桥镇", "鲁村镇", "大张庄镇", "南鲁山镇"}
	sentence = []string{
		"申请人因长期在外务工，委托代办员代为提交材料并领取结果",
		"所交复印件已由申请人签字确认与原件一致",
		"如审批部门要求补正，请代办员于 3 个工作日内电话告知申请人（电话见上）",
		"营业执照（副本）原件请在办结后当面交还，不得邮寄",
		"申请人的女儿欧阳喆𠇔可代为签收，须出示本人身份证件",
		"经营场所位于“犇淼农贸市场”东区 A-17 号摊位，面积约 23.5 平方米",
		"已告知申请人：食品经营许可证有效期 5 年，到期前 30 个工作日内申请延续",
		"补充说明见 https://zwfw.sd.gov.cn/zb/item/370323-0001 页面……以审批部门意见为准",
		"申请人使用的姓名用字“𪚥”“㛃”已与户籍信息核对一致",
		"本次代办不涉及任何收费；如有人索要费用，请拨打 12345 政务服务便民热线举报",
		"《食品经营许可审查通则》第十二条——现场核查时申请人应到场",
		"Contact: zhang.san@example.com, Tel. 0533-3241234; Ref No. YY/2025/0042",
	}
)

func genName(rng *rand.Rand) string {
	n := 1 + rng.IntN(2)
	s := surnames[rng.IntN(len(surnames))]
	for i := 0; i < n; i++ {
		s += givenChars[rng.IntN(len(givenChars))]
	}
	return s
}

func genAddress(rng *rand.Rand) string {
	a := "山东省淄博市沂源县" + towns[rng.IntN(len(towns))] + genName(rng)[:3] + "家庄村"
	a += fmt.Sprintf("%d 号", 1+rng.IntN(300))
	if rng.IntN(2) == 0 {
		a += fmt.Sprintf("（原%s犇淼路 %d 号院内东侧第 %d 间）", towns[rng.IntN(len(towns))], rng.IntN(99), 1+rng.IntN(9))
	}
	return a
}

func longNote(seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for i := 0; i < 5+rng.IntN(4); i++ {
		b.WriteString(sentence[rng.IntN(len(sentence))])
		if rng.IntN(3) == 0 {
			b.WriteString("；")
		} else {
			b.WriteString("。")
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Tools

func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: apt-get install %s", name, pkg)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pdftotext(t *testing.T, docPDF []byte, mode string) string {
	t.Helper()
	p := writeTemp(t, "doc.pdf", docPDF)
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", mode, p, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext %s: %v\n%s", mode, err, out)
	}
	return string(out)
}

var footerRe = regexp.MustCompile(`沂源县政务服务中心(案件编号：[A-Za-z0-9-]+)?第\d+页共\d+页`)

// normalized removes whitespace and the page footers, so that text broken
// over lines, cells and pages compares with the original.
func normalized(text string) string {
	return footerRe.ReplaceAllString(stripSpace(text), "")
}

// assertInOrder checks that every want string (whitespace removed) occurs
// in text, in order.
func assertInOrder(t *testing.T, label, text string, want []string) {
	t.Helper()
	pos := 0
	for _, w := range want {
		w = stripSpace(w)
		i := strings.Index(text[pos:], w)
		if i < 0 {
			if strings.Contains(text, w) {
				t.Errorf("%s: %q found but out of order", label, w)
			} else {
				t.Errorf("%s: %q not found in extracted text", label, w)
			}
			continue
		}
		pos += i + len(w)
	}
}

// runRecorder collects the runs the renderer prints.
type runRecorder struct {
	mu   sync.Mutex
	runs map[string]map[rune]bool
}

func (rr *runRecorder) hook(face, text string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.runs == nil {
		rr.runs = map[string]map[rune]bool{}
	}
	if rr.runs[face] == nil {
		rr.runs[face] = map[rune]bool{}
	}
	for _, r := range text {
		rr.runs[face][r] = true
	}
}

// assertGlyphs checks with sfnt that every character printed exists in the
// face it was printed with, and returns the faces used.
func (rr *runRecorder) assertGlyphs(t *testing.T, faces map[string]*sfnt.Font) []string {
	t.Helper()
	var buf sfnt.Buffer
	var used []string
	for face, set := range rr.runs {
		used = append(used, face)
		sf := faces[face]
		if sf == nil {
			t.Fatalf("unknown face %q", face)
		}
		for r := range set {
			if g, err := sf.GlyphIndex(&buf, r); err != nil || g == 0 {
				t.Errorf("%q (U+%04X) printed with %s, which has no glyph for it", r, r, face)
			}
		}
	}
	return used
}

func assertEmbedded(t *testing.T, docPDF []byte) {
	t.Helper()
	p := writeTemp(t, "fonts.pdf", docPDF)
	out, err := exec.Command("pdffonts", p).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("no fonts listed:\n%s", out)
	}
	for _, ln := range lines[2:] {
		f := strings.Fields(ln)
		// name type... emb sub uni object ID: "emb" is the 5th from the end.
		if len(f) < 6 || f[len(f)-5] != "yes" {
			t.Errorf("font not embedded: %s", ln)
		}
	}
}

// ---------------------------------------------------------------------------
// Tests

// TestEveryCharacterComesBack renders agreements for many generated names,
// addresses and long notes, and checks with pdftotext that every character
// comes back in order — none lost at a line, cell or page break — and that
// every character was printed with a face that has its glyph.
func TestEveryCharacterComesBack(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	needTool(t, "pdffonts", "poppler-utils")
	f := loadFonts(t)
	faces := openFaces(t, f)
	r := testRenderer(t)
	rec := &runRecorder{}
	r.TraceRuns(rec.hook)
	sig, err := pdf.NormalizeSignature(signaturePNG(3, 600, 200))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2025, 3))
	seenFaces := map[string]bool{}
	const docs = 24
	for i := 0; i < docs; i++ {
		name, agent := genName(rng), genName(rng)
		if i == 0 {
			name = "欧阳喆𠇔𪚥" // the hardest: compound surname, rare, Ext B in both faces
		}
		addr := genAddress(rng)
		note := longNote(uint64(i))
		if i%3 == 0 {
			note += "\n" + longNote(uint64(i+100)) // hard line break inside a clause
		}
		mats := []pdf.ReceivedMaterial{
			{Name: "居民身份证（" + name + "）", Pages: 1},
			{Name: "经营场所使用证明：" + addr, Original: true, Pages: 3},
			{Name: "委托人" + name + "与" + genName(rng) + "签订的房屋租赁合同及其附件（含平面图、产权证明复印件）", Original: true, Pages: 12},
		}
		d := pdf.AgreementData{
			CaseNumber: fmt.Sprintf("YY-2025-%06d", i), TrackingCode: fmt.Sprintf("TRK%05d", i), Title: "开办餐饮店“一件事”",
			Matters: []pdf.MatterInfo{
				{Name: "食品经营许可（新办）", Department: "沂源县市场监督管理局", Level: "县级", LimitDays: 10},
				{Name: "个体工商户设立登记", Department: "沂源县市场监督管理局", Level: "县级", LimitDays: 3},
			},
			Applicant: pdf.Party{Kind: "person", Name: name, IDMasked: "3703**********1234", PhoneMasked: "138****5678", Address: addr},
			Agent:     pdf.Agent{Name: agent, Username: fmt.Sprintf("agent%02d", i)},
			Materials: mats, Note: note,
			ApplicantSignature: sig, AgentSignature: sig,
			SignedAt:   time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC),
			VerifyCode: fmt.Sprintf("V%09d", i),
		}
		rec.runs = nil
		docPDF, err := r.Agreement(d)
		if err != nil {
			t.Fatalf("doc %d (%s): %v", i, name, err)
		}
		want := []string{name, addr, agent, mats[0].Name, mats[1].Name, mats[2].Name, "其他约定：" + note}
		raw := normalized(pdftotext(t, docPDF, "-raw"))
		assertInOrder(t, fmt.Sprintf("doc %d -raw", i), raw, want)
		// In layout mode full-width text (the note clause) is contiguous too.
		layout := normalized(pdftotext(t, docPDF, "-layout"))
		assertInOrder(t, fmt.Sprintf("doc %d -layout", i), layout, []string{name, "其他约定：" + note})
		for _, fc := range rec.assertGlyphs(t, faces) {
			seenFaces[fc] = true
		}
		if i < 3 {
			assertEmbedded(t, docPDF)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if !seenFaces["LXGWWenKai-Regular"] || !seenFaces["HanaMinA"] {
		t.Errorf("expected main and fallback faces in use, got %v", seenFaces)
	}
}

// TestExtBFromSecondFallback prints characters only HanaMin B has.
func TestExtBFromSecondFallback(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	f := loadFonts(t)
	// Find a few Extension B characters that only the last face covers.
	var only []rune
	for r := rune(0x20000); r < 0x2A6DF && len(only) < 4; r += 97 {
		if f.FaceOf(r) == "HanaMinB" {
			only = append(only, r)
		}
	}
	if len(only) < 2 {
		t.Fatalf("no Extension B characters found only in HanaMinB")
	}
	name := "上官" + string(only)
	r := testRenderer(t)
	rec := &runRecorder{}
	r.TraceRuns(rec.hook)
	docPDF, err := r.Receipt(pdf.ReceiptData{
		CaseNumber: "YY-2025-EXTB", Title: "不动产登记", ApplicantName: name, AgentName: "王堃",
		Items:    []pdf.ReceiptItem{{Kind: "licence", Name: "不动产权证书（权利人：" + name + "）", Number: "鲁(2025)沂源县不动产权第0001234号", Verified: true}},
		SignedAt: time.Now(), VerifyCode: "EXTB01",
	})
	if err != nil {
		t.Fatal(err)
	}
	used := rec.assertGlyphs(t, openFaces(t, f))
	if !strings.Contains(strings.Join(used, ","), "HanaMinB") {
		t.Errorf("HanaMinB not used: %v", used)
	}
	text := normalized(pdftotext(t, docPDF, "-raw"))
	assertInOrder(t, "receipt", text, []string{name, "不动产权证书（权利人：" + name + "）", "✓已核验"})
}

// TestNoticeManyPages: a long notice breaks over pages with the table
// header repeated and "第 X 页 共 Y 页" on each page; nothing is lost.
func TestNoticeManyPages(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	r := testRenderer(t)
	rng := rand.New(rand.NewPCG(9, 9))
	var matters []pdf.MatterInfo
	var want []string
	for m := 0; m < 3; m++ {
		mi := pdf.MatterInfo{Name: fmt.Sprintf("第%d个事项：%s名下的建设工程规划许可", m+1, genName(rng)), Department: "沂源县自然资源局", Level: "县级", LimitDays: 20, Where: "县政务服务中心三楼 自然资源窗口 " + genAddress(rng)}
		want = append(want, mi.Name)
		for j := 0; j < 18; j++ {
			x := pdf.MaterialInfo{Name: fmt.Sprintf("材料%d-%d：%s", m+1, j+1, string([]rune(longNote(uint64(m*100 + j)))[:24])), Original: j%2 == 0, Count: 1 + j%3}
			mi.Materials = append(mi.Materials, x)
			want = append(want, x.Name)
		}
		matters = append(matters, mi)
	}
	docPDF, err := r.Notice(pdf.NoticeData{CaseNumber: "YY-2025-LONG", Title: "工程建设项目“一件事”", Matters: matters, ApplicantName: "沂源县犇淼建设有限公司", IssuedAt: time.Now(), VerifyCode: "LONG01", TrackingCode: "TRKLONG", Note: longNote(77)})
	if err != nil {
		t.Fatal(err)
	}
	raw := pdftotext(t, docPDF, "-raw")
	pages := strings.Count(raw, "\f")
	if pages < 3 {
		t.Fatalf("expected several pages, got %d", pages)
	}
	for p := 1; p <= pages; p++ {
		if !strings.Contains(stripSpace(raw), fmt.Sprintf("第%d页共%d页", p, pages)) {
			t.Errorf("page label %d/%d missing", p, pages)
		}
	}
	if n := strings.Count(stripSpace(raw), "序号材料名称原件/复印件份数"); n < pages-1 {
		t.Errorf("table header printed %d times over %d pages", n, pages)
	}
	assertInOrder(t, "notice", normalized(raw), want)
}

// TestValidation: bad input is refused before rendering with a field.
func TestValidation(t *testing.T) {
	r := testRenderer(t)
	base := benchAgreement(t)
	cases := []struct {
		name  string
		edit  func(d *pdf.AgreementData)
		field string
		msg   string
	}{
		{"pua in name", func(d *pdf.AgreementData) { d.Applicant.Name = "张\ue000" }, "applicant.name", "U+E000"},
		{"emoji in address", func(d *pdf.AgreementData) { d.Applicant.Address = "沂源县\U00013000路" }, "applicant.address", "U+13000"},
		{"missing name", func(d *pdf.AgreementData) { d.Applicant.Name = " " }, "applicant.name", "委托人"},
		{"bad kind", func(d *pdf.AgreementData) { d.Applicant.Kind = "robot" }, "applicant.kind", "个人"},
		{"no matters", func(d *pdf.AgreementData) { d.Matters = nil }, "matters", "事项"},
		{"bad material", func(d *pdf.AgreementData) {
			d.Materials = append(d.Materials, pdf.ReceivedMaterial{Name: "证明\U000E0001"})
		}, "materials[3].name", "U+E0001"},
		{"bad code", func(d *pdf.AgreementData) { d.VerifyCode = "a/b" }, "verify_code", "验证码"},
		{"long note", func(d *pdf.AgreementData) { d.Note = strings.Repeat("长", 2001) }, "note", "过长"},
		{"bad signature", func(d *pdf.AgreementData) { d.AgentSignature = []byte("GIF89a") }, "agent_signature", "签名"},
	}
	for _, c := range cases {
		d := base
		d.Applicant = base.Applicant
		d.Materials = append([]pdf.ReceivedMaterial(nil), base.Materials...)
		c.edit(&d)
		_, err := r.Agreement(d)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorField(err) != c.field || !strings.Contains(daiban.ErrorMessage(err), c.msg) {
			t.Errorf("%s: got code=%s field=%s msg=%s", c.name, daiban.ErrorCode(err), daiban.ErrorField(err), daiban.ErrorMessage(err))
		}
	}
	_, err := r.Receipt(pdf.ReceiptData{CaseNumber: "X1", Title: "t", ApplicantName: "张三", AgentName: "李四", VerifyCode: "V1",
		Items: []pdf.ReceiptItem{{Kind: "licence", Name: "营业执照", Verified: true}, {Kind: "material", Name: "租赁合同", Verified: false}}})
	if daiban.ErrorField(err) != "items[1].verified" || !strings.Contains(daiban.ErrorMessage(err), "核验") {
		t.Errorf("unverified receipt item: %v", err)
	}
	if _, err := pdf.NewRenderer(loadFonts(t), pdf.Center{Name: "中心", BaseURL: "ftp://x"}); daiban.ErrorField(err) != "center.base_url" {
		t.Errorf("bad base URL: %v", err)
	}
}

// TestDraftWithoutSignatures: a draft agreement renders with placeholders.
func TestDraftWithoutSignatures(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	d := benchAgreement(t)
	d.ApplicantSignature, d.AgentSignature, d.SignedAt = nil, nil, time.Time{}
	docPDF, err := testRenderer(t).Agreement(d)
	if err != nil {
		t.Fatal(err)
	}
	text := stripSpace(pdftotext(t, docPDF, "-raw"))
	if strings.Count(text, "（待签字）") != 2 {
		t.Errorf("placeholders missing: %s", text)
	}
}

// TestAgreementContents: the clauses the contract requires are on the page.
func TestAgreementContents(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	d := benchAgreement(t)
	docPDF, err := testRenderer(t).Agreement(d)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, docPDF, "-raw")
	if n := strings.Count(text, "\f"); n != 1 {
		t.Errorf("typical agreement should be one page, got %d", n)
	}
	norm := normalized(text)
	for _, want := range []string{
		"代办服务委托协议书", "委托人（甲方）", "受托人（乙方）", d.Applicant.Name, d.Agent.Name, d.Matters[0].Name,
		"代为提交申请材料", "代为领取办理结果", "代为跟踪办理进度", "代为按审批部门要求补正材料",
		"承诺时限10个工作日，自协议签订之日的次日起算", "本代办服务免费", "保密义务", "甲方可随时书面终止委托",
		"沂源县政务服务中心（电子签章）", "查询码：" + d.TrackingCode, "验证码：" + d.VerifyCode,
		"http://127.0.0.1:8080/track/" + d.TrackingCode, "扫描", "2025年3月5日",
	} {
		if !strings.Contains(norm, stripSpace(want)) {
			t.Errorf("agreement lacks %q", want)
		}
	}
	for _, m := range d.Materials {
		if !strings.Contains(norm, m.Name) {
			t.Errorf("material %q missing", m.Name)
		}
	}
	if !bytes.HasPrefix(docPDF, []byte("%PDF-")) {
		t.Error("not a PDF")
	}
}

var bboxRe = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">`)

// TestMaxLengthFields renders every field at its length limit: it must
// render, keep every character, and keep all text inside the page margins
// (20 mm = 56.7 pt on each side; a hanging punctuation mark may reach a few
// points further).
func TestMaxLengthFields(t *testing.T) {
	needTool(t, "pdftotext", "poppler-utils")
	rng := rand.New(rand.NewPCG(4, 4))
	runeN := func(s string, n int) string {
		var b []rune
		for len(b) < n {
			b = append(b, []rune(s)...)
		}
		return string(b[:n])
	}
	d := benchAgreement(t)
	d.CaseNumber = runeN("YY-2025-0000000042-", 60)
	d.Title = runeN("开办餐饮店“一件事”（含食品经营许可、个体工商户登记、户外招牌设置）", 200)
	d.Applicant.Name = runeN("沂源县犇淼喆堃农业科技发展有限公司第一分公司", 200)
	d.Applicant.Address = runeN(genAddress(rng), 200)
	d.Agent.Name = runeN("欧阳喆𠇔𪚥", 60)
	d.Matters = []pdf.MatterInfo{{Name: runeN("食品经营许可（新办、变更、延续、注销）", 200), Department: runeN("沂源县市场监督管理局", 200), Level: "县级", LimitDays: 3650}}
	d.Materials = nil
	for i := 0; i < 30; i++ {
		d.Materials = append(d.Materials, pdf.ReceivedMaterial{Name: runeN(longNote(uint64(i)), 200), Original: i%2 == 0, Pages: 9999})
	}
	d.Note = runeN(longNote(1)+longNote(2)+longNote(3)+longNote(4)+longNote(5)+longNote(6)+longNote(7)+longNote(8), 2000)
	docPDF, err := testRenderer(t).Agreement(d)
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("AGREEMENTS_ARTIFACTS"); dir != "" {
		os.WriteFile(filepath.Join(dir, "agreement-max.pdf"), docPDF, 0o644)
	}
	want := []string{d.CaseNumber, d.Applicant.Name, d.Applicant.Address, d.Agent.Name, d.Matters[0].Name}
	for _, m := range d.Materials {
		want = append(want, m.Name)
	}
	want = append(want, d.Note)
	assertInOrder(t, "max lengths", normalized(pdftotext(t, docPDF, "-raw")), want)

	box := pdftotext(t, docPDF, "-bbox")
	words := bboxRe.FindAllStringSubmatch(box, -1)
	if len(words) < 100 {
		t.Fatalf("only %d words in bbox output", len(words))
	}
	for _, w := range words {
		x0, _ := strconv.ParseFloat(w[1], 64)
		y0, _ := strconv.ParseFloat(w[2], 64)
		x1, _ := strconv.ParseFloat(w[3], 64)
		y1, _ := strconv.ParseFloat(w[4], 64)
		if x0 < 56 || x1 > 595.28-56.7+12 || y0 < 30 || y1 > 841.89-20 {
			t.Errorf("text outside the margins: %s", w[0])
		}
	}
}
