package pdf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// gofpdf names every embedded UTF-8 font "utf8"+key although it embeds a
// subset, and ISO 32000-1 §9.6.4 wants a subset's name to start with a
// six-letter tag and "+" (pdffonts reports "sub" from it).
var (
	gofpdfFontName = regexp.MustCompile(`/(BaseFont|FontName) /utf8([A-Za-z0-9]+)`)
	xrefEntry      = regexp.MustCompile(`(?m)^(\d{10}) (\d{5}) n`)
)

// tagSubsets renames gofpdf's fonts to TAG+key (TAG six capital letters
// derived from the document and key) and moves the xref offsets that the
// longer names shift.
func tagSubsets(doc []byte) ([]byte, error) {
	xrefAt, err := lastStartXref(doc)
	if err != nil || xrefAt <= 0 || int(xrefAt) >= len(doc) || !bytes.HasPrefix(doc[xrefAt:], []byte("xref")) {
		return nil, errors.New("render: unexpected xref layout")
	}
	seed := sha256.Sum256(doc)
	matches := gofpdfFontName.FindAllSubmatchIndex(doc[:xrefAt], -1)
	if len(matches) == 0 {
		return doc, nil
	}
	var out bytes.Buffer
	out.Grow(len(doc) + 8*len(matches))
	shifts := make([]int, 0, len(matches)) // positions after which offsets grow by 3
	last := 0
	for _, m := range matches {
		key := doc[m[4]:m[5]]
		out.Write(doc[last : m[2]-1]) // up to "/BaseFont"
		fmt.Fprintf(&out, "/%s /%s+%s", doc[m[2]:m[3]], subsetTag(seed[:], key), key)
		last = m[1]
		shifts = append(shifts, m[0])
	}
	shift := func(off int64) int64 {
		n := 0
		for _, p := range shifts {
			if int64(p) < off {
				n++
			}
		}
		return off + int64(3*n)
	}
	out.Write(doc[last:xrefAt])
	tail, err := shiftXref(doc[xrefAt:], xrefAt, shift)
	if err != nil {
		return nil, err
	}
	out.Write(tail)
	return out.Bytes(), nil
}

// subsetTag is six capital letters from seed and key.
func subsetTag(seed, key []byte) string {
	h := sha256.Sum256(append(append([]byte(nil), seed...), key...))
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + h[i]%26
	}
	return string(tag)
}

// shiftXref rewrites a classic xref table's in-use offsets and the
// startxref number after it.
func shiftXref(tail []byte, at int64, shift func(int64) int64) ([]byte, error) {
	out := append([]byte(nil), tail...)
	tr := bytes.Index(out, []byte("trailer"))
	if tr < 0 {
		return nil, errors.New("render: xref without trailer")
	}
	for _, m := range xrefEntry.FindAllSubmatchIndex(out[:tr], -1) {
		off, _ := strconv.ParseInt(string(out[m[2]:m[3]]), 10, 64)
		copy(out[m[2]:m[3]], fmt.Sprintf("%010d", shift(off)))
	}
	sx := bytes.LastIndex(out, []byte("startxref"))
	if sx < 0 {
		return nil, errors.New("render: no startxref")
	}
	var b bytes.Buffer
	b.Write(out[:sx])
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", shift(at))
	return b.Bytes(), nil
}
