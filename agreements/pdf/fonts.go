package pdf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"

	"github.com/daiban/daiban"
)

// fontSpec names one font file the documents need and the Debian package
// that installs it.
type fontSpec struct {
	file string // file name, searched in the font directories
	pkg  string // Debian package
	desc string // name shown in errors
}

// fontSpecs are the faces in lookup order: the main face first, then the
// fallbacks for what it lacks.
var fontSpecs = []fontSpec{
	{"LXGWWenKai-Regular.ttf", "fonts-lxgw-wenkai", "霞鹜文楷 LXGW WenKai"},
	{"HanaMinA.ttf", "fonts-hanazono", "花园明朝 HanaMin A"},
	{"HanaMinB.ttf", "fonts-hanazono", "花园明朝 HanaMin B"},
}

// defaultFontDirs are where Debian installs the fonts; LoadFonts searches
// them after the directories it is given.
var defaultFontDirs = []string{
	"/usr/share/fonts/truetype/lxgw-wenkai",
	"/usr/share/fonts/truetype/lxgw",
	"/usr/share/fonts/truetype/hanazono",
}

// glyphRef says which face prints a character, with which glyph and how
// wide it is (in 1/1000 em, rounded the way gofpdf rounds).
type glyphRef struct {
	face uint8
	gid  uint16
	w    uint16
}

// face is one parsed TrueType font: the tables the subsetter copies and the
// glyph locations it reads.
type face struct {
	name      string // PostScript-ish name for messages and tests
	path      string
	data      []byte
	sf        *sfnt.Font
	upem      int
	numGlyphs int
	numHM     int
	loca      []uint32 // numGlyphs+1 offsets into glyf
	glyf      []byte
	hmtx      []byte
	tables    map[string][]byte
	bufs      sync.Pool // *sfnt.Buffer
}

// Fonts holds the parsed document fonts. It is safe for concurrent use and
// meant to be loaded once per process.
type Fonts struct {
	faces []*face

	mu    sync.RWMutex
	cache map[rune]glyphRef // characters found so far (covered ones only)
}

// LoadFonts finds and parses the document fonts. It searches dirs in order,
// then the Debian font directories. When any font is missing it returns one
// error naming every missing file and the packages to install.
func LoadFonts(dirs ...string) (*Fonts, error) {
	search := append(append([]string{}, dirs...), defaultFontDirs...)
	paths := make([]string, len(fontSpecs))
	var missing []string
	var pkgs []string
	for i, spec := range fontSpecs {
		for _, d := range search {
			p := filepath.Join(d, spec.file)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				paths[i] = p
				break
			}
		}
		if paths[i] == "" {
			missing = append(missing, fmt.Sprintf("%s（%s）", spec.file, spec.desc))
			if !slices.Contains(pkgs, spec.pkg) {
				pkgs = append(pkgs, spec.pkg)
			}
		}
	}
	if len(missing) > 0 {
		return nil, daiban.Errorf(daiban.EUNAVAILABLE,
			"缺少打印文书所需的字体：%s。请安装字体包：apt-get install %s（已查找目录：%s）",
			strings.Join(missing, "、"), strings.Join(pkgs, " "), strings.Join(search, "、"))
	}
	f := &Fonts{cache: make(map[rune]glyphRef, 4096)}
	for i, p := range paths {
		fc, err := loadFace(p)
		if err != nil {
			return nil, daiban.Errorf(daiban.EUNAVAILABLE, "字体文件 %s 无法使用：%v。请重新安装字体包：apt-get install --reinstall %s", p, err, fontSpecs[i].pkg)
		}
		f.faces = append(f.faces, fc)
	}
	return f, nil
}

// FacePaths returns the font files in lookup order (main face first).
func (f *Fonts) FacePaths() []string {
	out := make([]string, len(f.faces))
	for i, fc := range f.faces {
		out[i] = fc.path
	}
	return out
}

// Check returns an EINVALID error for field when s holds a character that
// no document font can print, naming the first such character and its code
// point. Line breaks and tabs are allowed (they are layout, not glyphs).
func (f *Fonts) Check(field, s string) error {
	if !utf8.ValidString(s) {
		return daiban.Invalid(field, "内容含有无法识别的文字编码，无法打印到文书上")
	}
	pos := 0
	for _, r := range s {
		pos++
		if r == '\n' || r == '\r' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) {
			return daiban.Invalid(field, "第 %d 个字符（U+%04X）是不可打印的控制字符，请删除后重试", pos, r)
		}
		if unicode.Is(unicode.Co, r) {
			return daiban.Invalid(field, "第 %d 个字符（U+%04X）是私用区字符，各字体显示不一，不能打印到文书上；请改用规范汉字", pos, r)
		}
		if _, ok := f.lookup(r); !ok {
			return daiban.Invalid(field, "第 %d 个字符「%c」（U+%04X）没有可用的字体，无法打印到文书上；请核对或改用规范汉字，如确需使用请联系管理员补充字体", pos, r, r)
		}
	}
	return nil
}

// lookup finds the first face that has a printable glyph for r.
func (f *Fonts) lookup(r rune) (glyphRef, bool) {
	f.mu.RLock()
	g, ok := f.cache[r]
	f.mu.RUnlock()
	if ok {
		return g, true
	}
	if r < 0x20 || unicode.Is(unicode.Co, r) || r > unicode.MaxRune {
		return glyphRef{}, false
	}
	for i, fc := range f.faces {
		gid := fc.glyphIndex(r)
		if gid == 0 {
			continue
		}
		w := fc.width1000(gid)
		if w == 0 && r != ' ' {
			// A zero-width glyph (combining mark, joiner) would be written
			// with a bogus advance by gofpdf; treat it as unprintable.
			continue
		}
		g = glyphRef{face: uint8(i), gid: gid, w: w}
		f.mu.Lock()
		f.cache[r] = g
		f.mu.Unlock()
		return g, true
	}
	return glyphRef{}, false
}

// ---------------------------------------------------------------------------
// TrueType parsing

// loadFace parses a TrueType font file: its table directory, the metrics
// and glyph locations the layout and the subsetter read, and an sfnt.Font
// for character lookups.
func loadFace(path string) (*face, error) {
	data, err := readFontFile(path)
	if err != nil {
		return nil, err
	}
	fc := &face{path: path, data: data, tables: map[string][]byte{}}
	fc.name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if err := fc.readTables(); err != nil {
		return nil, err
	}
	head, hhea, maxp := fc.tables["head"], fc.tables["hhea"], fc.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, errors.New("head/hhea/maxp 表过短")
	}
	fc.upem = int(binary.BigEndian.Uint16(head[18:]))
	if fc.upem < 16 {
		return nil, errors.New("unitsPerEm 无效")
	}
	fc.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	fc.numHM = int(binary.BigEndian.Uint16(hhea[34:]))
	fc.hmtx = fc.tables["hmtx"]
	fc.glyf = fc.tables["glyf"]
	if fc.numHM < 1 || fc.numHM > fc.numGlyphs || len(fc.hmtx) < 4*fc.numHM+2*(fc.numGlyphs-fc.numHM) {
		return nil, errors.New("hmtx 表无效")
	}
	if err := fc.readLoca(binary.BigEndian.Uint16(head[50:]) == 1); err != nil {
		return nil, err
	}
	fc.sf, err = sfnt.Parse(data)
	if err != nil {
		return nil, err
	}
	return fc, nil
}

// readTables checks that fc.data is a TrueType-outline font and reads its
// table directory, which must hold every table the renderer needs.
func (fc *face) readTables() error {
	data := fc.data
	if len(data) < 12 {
		return errors.New("文件过短")
	}
	switch binary.BigEndian.Uint32(data) {
	case 0x00010000, 0x74727565: // TrueType outlines
	case 0x4F54544F:
		return errors.New("CFF 轮廓（.otf）字体不受 gofpdf 支持，需要 TrueType 轮廓")
	case 0x74746366:
		return errors.New("字体集合（.ttc）不受 gofpdf 支持")
	default:
		return errors.New("不是 TrueType 字体")
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	if 12+16*n > len(data) {
		return errors.New("表目录越界")
	}
	for i := 0; i < n; i++ {
		rec := data[12+16*i:]
		tag := string(rec[:4])
		off := int(binary.BigEndian.Uint32(rec[8:]))
		ln := int(binary.BigEndian.Uint32(rec[12:]))
		if off < 0 || ln < 0 || off+ln > len(data) || off+ln < off {
			return fmt.Errorf("表 %q 越界", tag)
		}
		fc.tables[tag] = data[off : off+ln]
	}
	for _, t := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "OS/2", "post", "name"} {
		if fc.tables[t] == nil {
			return fmt.Errorf("缺少 %q 表（需要 TrueType glyf 轮廓）", t)
		}
	}
	return nil
}

// readLoca reads the glyph offsets (long or short format) into fc.loca,
// checking that they stay inside glyf and never decrease.
func (fc *face) readLoca(long bool) error {
	loca := fc.tables["loca"]
	fc.loca = make([]uint32, fc.numGlyphs+1)
	for i := range fc.loca {
		if long {
			if 4*i+4 > len(loca) {
				return errors.New("loca 表过短")
			}
			fc.loca[i] = binary.BigEndian.Uint32(loca[4*i:])
		} else {
			if 2*i+2 > len(loca) {
				return errors.New("loca 表过短")
			}
			fc.loca[i] = 2 * uint32(binary.BigEndian.Uint16(loca[2*i:]))
		}
		if int(fc.loca[i]) > len(fc.glyf) || (i > 0 && fc.loca[i] < fc.loca[i-1]) {
			return errors.New("loca 表无效")
		}
	}
	return nil
}

// glyphIndex returns the glyph of r, 0 when the face lacks it.
func (fc *face) glyphIndex(r rune) uint16 {
	buf, _ := fc.bufs.Get().(*sfnt.Buffer)
	if buf == nil {
		buf = new(sfnt.Buffer)
	}
	gid, err := fc.sf.GlyphIndex(buf, r)
	fc.bufs.Put(buf)
	if err != nil || int(gid) >= fc.numGlyphs {
		return 0
	}
	return uint16(gid)
}

// metrics returns a glyph's advance width and left side bearing in font
// units.
func (fc *face) metrics(gid uint16) (adv uint16, lsb int16) {
	g := int(gid)
	if g < fc.numHM {
		return binary.BigEndian.Uint16(fc.hmtx[4*g:]), int16(binary.BigEndian.Uint16(fc.hmtx[4*g+2:]))
	}
	adv = binary.BigEndian.Uint16(fc.hmtx[4*(fc.numHM-1):])
	lsb = int16(binary.BigEndian.Uint16(fc.hmtx[4*fc.numHM+2*(g-fc.numHM):]))
	return adv, lsb
}

// width1000 is the advance of gid in 1/1000 em, computed exactly as gofpdf
// computes the widths it writes into the PDF, so that our line breaking and
// gofpdf's placement agree to the last unit.
func (fc *face) width1000(gid uint16) uint16 {
	adv, _ := fc.metrics(gid)
	scale := 1000.0 / float64(fc.upem)
	w := math.Round(scale * float64(adv))
	if w > 65000 {
		w = 65000
	}
	return uint16(w)
}
