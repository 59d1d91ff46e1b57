package pdf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/daiban/daiban"
)

// Length limits (characters) of printed fields; they also keep any one
// table row well under a page.
const (
	maxShort = 60   // names, codes, phone numbers
	maxLine  = 200  // addresses, material and matter names
	maxNote  = 2000 // free-text notes
	maxItems = 200  // rows of one table
)

// checkText checks that v fits max characters and that every character can
// be printed.
func checkText(f *Fonts, field, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return daiban.Invalid(field, "内容过长（%d 个字），最多 %d 个字", n, max)
	}
	return f.Check(field, v)
}

// checkRequired is checkText for a field that must not be blank.
func checkRequired(f *Fonts, field, label, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return daiban.Invalid(field, "请填写%s", label)
	}
	return checkText(f, field, v, max)
}

// checkCode accepts the URL-safe codes printed on documents and put into QR
// links (tracking and verification codes).
func checkCode(field, label, v string, required bool) error {
	if v == "" {
		if required {
			return daiban.Invalid(field, "缺少%s", label)
		}
		return nil
	}
	if len(v) > 64 {
		return daiban.Invalid(field, "%s过长", label)
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return daiban.Invalid(field, "%s只能包含字母、数字、“-”和“_”", label)
		}
	}
	return nil
}

// checkSignature accepts an empty signature (not yet signed) or a PNG that
// gofpdf can embed; anything else must go through NormalizeSignature first.
// It returns the PNG to embed (re-encoded when it was 16-bit or
// interlaced).
func checkSignature(field string, png []byte) ([]byte, error) {
	if len(png) == 0 {
		return nil, nil
	}
	if len(png) > maxSignatureBytes || len(png) < 33 || !bytes.HasPrefix(png, pngMagic) || string(png[12:16]) != "IHDR" {
		return nil, daiban.Invalid(field, "签名图片无效，请重新签名")
	}
	depth, interlace := png[24], png[28]
	if depth != 8 || interlace != 0 {
		out, err := NormalizeSignature(png)
		if err != nil {
			return nil, daiban.Invalid(field, "签名图片无效，请重新签名")
		}
		return out, nil
	}
	if w, h := binary.BigEndian.Uint32(png[16:]), binary.BigEndian.Uint32(png[20:]); w == 0 || h == 0 || w > maxSignaturePx || h > maxSignaturePx {
		return nil, daiban.Invalid(field, "签名图片尺寸无效，请重新签名")
	}
	return png, nil
}

// checker collects the first validation error of a document.
type checker struct {
	f   *Fonts
	err error
}

func (k *checker) text(field, v string, max int) {
	if k.err == nil {
		k.err = checkText(k.f, field, v, max)
	}
}

func (k *checker) required(field, label, v string, max int) {
	if k.err == nil {
		k.err = checkRequired(k.f, field, label, v, max)
	}
}

func (k *checker) code(field, label, v string, required bool) {
	if k.err == nil {
		k.err = checkCode(field, label, v, required)
	}
}

func (k *checker) fail(field, format string, args ...any) {
	if k.err == nil {
		k.err = daiban.Invalid(field, format, args...)
	}
}

func (k *checker) matters(ms []MatterInfo) {
	if len(ms) == 0 {
		k.fail("matters", "请至少选择一个办理事项")
		return
	}
	if len(ms) > 50 {
		k.fail("matters", "办理事项过多（最多 50 项）")
	}
	for i, m := range ms {
		p := fmt.Sprintf("matters[%d].", i)
		k.required(p+"name", "事项名称", m.Name, maxLine)
		k.text(p+"department", m.Department, maxLine)
		k.text(p+"level", m.Level, maxShort)
		k.text(p+"where", m.Where, maxLine)
		if m.LimitDays < 0 || m.LimitDays > 3650 {
			k.fail(p+"limit_days", "承诺时限应为 0 至 3650 个工作日")
		}
		if len(m.Materials) > maxItems {
			k.fail(p+"materials", "材料过多（最多 %d 项）", maxItems)
		}
		for j, x := range m.Materials {
			q := fmt.Sprintf("%smaterials[%d].", p, j)
			k.required(q+"name", "材料名称", x.Name, maxLine)
			if x.Count < 0 || x.Count > 999 {
				k.fail(q+"count", "材料份数应为 0 至 999")
			}
		}
	}
}
