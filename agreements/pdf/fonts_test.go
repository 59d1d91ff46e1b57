package pdf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/image/font/sfnt"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

func TestLoadFontsMissingNamesPackages(t *testing.T) {
	main := loadFonts(t).FacePaths()[0]
	restore := pdf.SetDefaultFontDirs(nil)
	defer restore()
	_, err := pdf.LoadFonts(t.TempDir())
	if err == nil {
		t.Fatal("expected an error without fonts")
	}
	msg := daiban.ErrorMessage(err)
	for _, want := range []string{"apt-get install", "fonts-lxgw-wenkai", "fonts-hanazono", "LXGWWenKai-Regular.ttf", "HanaMinB.ttf"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Count(msg, "fonts-hanazono") != 1 {
		t.Errorf("package named more than once: %q", msg)
	}
	if daiban.ErrorCode(err) != daiban.EUNAVAILABLE {
		t.Errorf("code %q", daiban.ErrorCode(err))
	}

	// Only the main font present: the error names the fallback only.
	dir := t.TempDir()
	if err := os.Symlink(main, filepath.Join(dir, filepath.Base(main))); err != nil {
		t.Fatal(err)
	}
	_, err = pdf.LoadFonts(dir)
	msg = daiban.ErrorMessage(err)
	if err == nil || strings.Contains(msg, "fonts-lxgw-wenkai") || !strings.Contains(msg, "apt-get install fonts-hanazono") {
		t.Errorf("want only fonts-hanazono missing, got %v", err)
	}
}

func TestLoadFontsRejectsNonTrueType(t *testing.T) {
	paths := loadFonts(t).FacePaths()
	restore := pdf.SetDefaultFontDirs(nil)
	defer restore()
	dir := t.TempDir()
	for _, p := range paths[1:] {
		if err := os.Symlink(p, filepath.Join(dir, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	// A CFF-flavoured "font" under the main font's name.
	if err := os.WriteFile(filepath.Join(dir, "LXGWWenKai-Regular.ttf"), append([]byte("OTTO"), make([]byte, 64)...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := pdf.LoadFonts(dir)
	if err == nil || !strings.Contains(daiban.ErrorMessage(err), "TrueType") {
		t.Fatalf("want a TrueType error, got %v", err)
	}
}

func TestCheck(t *testing.T) {
	f := loadFonts(t)
	ok := []string{
		"张喆", "王堃", "李犇", "赵淼", "孙㛃", "欧阳𠇔", "司马𪚥", "诸葛亮", "上官婉儿",
		"沂源县南麻街道 12 号（东门）", "Zhang San", "3703**********1234", "多行\n备注\t制表",
		"①②③ ✓ √ —— …… “引号” 《书名》", "",
	}
	for _, s := range ok {
		if err := f.Check("name", s); err != nil {
			t.Errorf("Check(%q) = %v", s, err)
		}
	}
	bad := []struct {
		s, want string
	}{
		{"张\ue000", "U+E000"},      // private use
		{"李\U000F0001", "U+F0001"}, // supplementary private use
		{"王\u0378", "U+0378"},      // unassigned
		{"赵\U0001FA70", "U+1FA70"}, // emoji newer than every font
		{"钱\a", "U+0007"},          // control character
		{"孙\xff", "无法识别的文字编码"},     // invalid encoding
		{"周\U0002EBF0", "U+2EBF0"}, // CJK Extension I: in no font
	}
	for _, b := range bad {
		err := f.Check("applicant.name", b.s)
		if err == nil {
			t.Errorf("Check(%q) accepted", b.s)
			continue
		}
		if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorField(err) != "applicant.name" {
			t.Errorf("Check(%q): code %q field %q", b.s, daiban.ErrorCode(err), daiban.ErrorField(err))
		}
		if msg := daiban.ErrorMessage(err); !strings.Contains(msg, b.want) || !strings.Contains(msg, "第 2 个字符") && b.want != "无法识别的文字编码" {
			t.Errorf("Check(%q) message %q lacks %q / position", b.s, msg, b.want)
		}
	}
	// The first offending character is the one named.
	err := f.Check("x", "甲\U00013000乙\ue000")
	if !strings.Contains(daiban.ErrorMessage(err), "U+13000") {
		t.Errorf("first bad character not named: %v", err)
	}
}

// TestCheckAgreesWithFontFiles cross-checks Check and the face choice with
// sfnt on the font files: every accepted character has a glyph in the face
// that prints it, and the main face is preferred.
func TestCheckAgreesWithFontFiles(t *testing.T) {
	f := loadFonts(t)
	faces := openFaces(t, f)
	var buf sfnt.Buffer
	sample := "喆堃犇淼㛃𠇔𪚥龘靐齉爩𠀀𡃁𤭢𩸽𫝀𬺰丂乂亍々〇ABCxyz0129，。、；：？！（）《》“”…—·✓"
	for _, r := range sample {
		name := f.FaceOf(r)
		if name == "" {
			if f.Check("x", string(r)) == nil {
				t.Errorf("%q: no face but Check accepts", r)
			}
			continue
		}
		gid, err := faces[name].GlyphIndex(&buf, r)
		if err != nil || gid == 0 {
			t.Errorf("%q: face %s has no glyph (sfnt)", r, name)
		}
		main := faces[filepath.Base(strings.TrimSuffix(f.FacePaths()[0], ".ttf"))]
		if g, _ := main.GlyphIndex(&buf, r); g != 0 && name != "LXGWWenKai-Regular" {
			t.Errorf("%q: main font has it but %s was chosen", r, name)
		}
	}
	if f.FaceOf('𪚥') == "LXGWWenKai-Regular" {
		t.Errorf("𪚥 is not in LXGW WenKai; test expects a fallback face")
	}
}

// openFaces parses every font file with sfnt, by base name without ".ttf".
func openFaces(t *testing.T, f *pdf.Fonts) map[string]*sfnt.Font {
	t.Helper()
	out := map[string]*sfnt.Font{}
	for _, p := range f.FacePaths() {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sf, err := sfnt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".ttf")] = sf
	}
	return out
}

// TestWidthMatchesGofpdf: the widths used for line breaking are exactly
// what gofpdf's GetStringWidth computes with the whole font.
func TestWidthMatchesGofpdf(t *testing.T) {
	f := loadFonts(t)
	data, err := os.ReadFile(f.FacePaths()[0])
	if err != nil {
		t.Fatal(err)
	}
	docPDF := gofpdf.New("P", "mm", "A4", "")
	docPDF.AddUTF8FontFromBytes("w", "", data)
	docPDF.SetFont("w", "", 10.5)
	for _, s := range []string{"代办服务委托协议书", "沂源县政务服务中心 0533-3241234", "Hello, World! 123", "（一）甲方：司马喆堃；", "ABCDEFG abcdefg ,.;:!?"} {
		want := docPDF.GetStringWidth(s)
		got, err := f.Width(s, 10.5)
		if err != nil {
			t.Fatal(err)
		}
		if d := got - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("width(%q) = %.6f, gofpdf %.6f", s, got, want)
		}
	}
}

const closing = "，。、；：？！）」』》〉】〕’”…—·%,.;:?!)"
const opening = "（「『《〈【〔‘“("

// TestWrapKeepsEveryCharacter: wrapping never drops or reorders a
// character (only spaces at breaks), lines fit, and no line starts with
// closing punctuation or ends with opening punctuation unless it could not
// be avoided.
func TestWrapKeepsEveryCharacter(t *testing.T) {
	f := loadFonts(t)
	texts := []string{
		longNote(1), longNote(2), longNote(3),
		"甲方（委托人）：欧阳喆𠇔𪚥，住址：山东省淄博市沂源县南麻街道㛃家庄村犇淼路 88 号。联系电话：138****5678。",
		"“一次告知”。“材料清单”，（原件）、（复印件）；《营业执照》——见附件……完。",
		"https://zwfw.sd.gov.cn/zb/public/item/37032300000000000123456789/detail?from=daiban 长网址",
		strings.Repeat("喆", 200),
		strings.Repeat("。", 40) + strings.Repeat("（", 40),
	}
	for _, width := range []float64{20, 37, 55, 90, 170} {
		for _, s := range texts {
			lines, err := f.Wrap(s, width, 10)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := stripSpace(strings.Join(lines, "")), stripSpace(s); got != want {
				t.Fatalf("width %v: characters lost or reordered:\n got %q\nwant %q", width, got, want)
			}
			for i, ln := range lines {
				w, _ := f.Width(ln, 10)
				first, _ := utf8.DecodeRuneInString(ln)
				last, _ := utf8.DecodeLastRuneInString(ln)
				allPunct := strings.Trim(ln, closing+opening) == ""
				if w > width+0.01 && !allPunct && utf8.RuneCountInString(ln) > 1 {
					// Only hanging punctuation may overflow.
					if !strings.ContainsRune(closing, last) {
						t.Errorf("width %v: line %d too wide (%.2f): %q", width, i, w, ln)
					}
				}
				if i > 0 && strings.ContainsRune(closing, first) && !allPunct {
					t.Errorf("width %v: line %d starts with closing punctuation: %q", width, i, ln)
				}
				if i < len(lines)-1 && strings.ContainsRune(opening, last) && !allPunct {
					t.Errorf("width %v: line %d ends with opening punctuation: %q", width, i, ln)
				}
			}
		}
	}
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' || r == '\u00a0' {
			return -1
		}
		return r
	}, s)
}
