package pdf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// cmapEntry maps one code point of the subset font to a glyph of the
// original face.
type cmapEntry struct {
	code uint16 // BMP code point written in the PDF (PUA for non-BMP characters)
	gid  uint16 // glyph in the original face
}

// Composite glyph flags (TrueType 'glyf').
const (
	compArgWords   = 0x0001
	compScale      = 0x0008
	compMore       = 0x0020
	compXYScale    = 0x0040
	compTwoByTwo   = 0x0080
	maxSubsetSegs  = 8000 // format 4 cmap must stay under 64 KiB
	maxCompositeGl = 1 << 15
)

// subset builds a small, valid TrueType font holding .notdef, the glyphs of
// entries (plus the components of composite glyphs) and a format 4 cmap
// mapping each entry's code to its glyph. The result is what gofpdf parses
// per document instead of the full face.
func (fc *face) subset(entries []cmapEntry) ([]byte, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].code < entries[j].code })
	newID, order, err := fc.subsetGlyphs(entries)
	if err != nil {
		return nil, err
	}
	glyf, loca, err := fc.subsetGlyf(order, newID)
	if err != nil {
		return nil, err
	}
	// hmtx: a full metric for every glyph.
	hmtx := make([]byte, 4*len(order))
	for i, old := range order {
		adv, lsb := fc.metrics(old)
		binary.BigEndian.PutUint16(hmtx[4*i:], adv)
		binary.BigEndian.PutUint16(hmtx[4*i+2:], uint16(lsb))
	}
	cmap, err := buildCmap4(entries, newID)
	if err != nil {
		return nil, err
	}
	tables := fc.subsetHeaders(len(order))
	tables["cmap"], tables["glyf"], tables["hmtx"], tables["loca"] = cmap, glyf, hmtx, loca
	return assembleFont(tables), nil
}

// subsetGlyphs numbers the glyphs of the subset: .notdef, the glyphs of
// entries and the components of composite glyphs (transitively), in
// order of first use. newID maps an old glyph id to the new one; order
// lists the old ids by new id.
func (fc *face) subsetGlyphs(entries []cmapEntry) (newID map[uint16]uint16, order []uint16, err error) {
	newID = map[uint16]uint16{0: 0}
	order = []uint16{0}
	add := func(old uint16) uint16 {
		if n, ok := newID[old]; ok {
			return n
		}
		n := uint16(len(order))
		newID[old] = n
		order = append(order, old)
		return n
	}
	for _, e := range entries {
		if int(e.gid) >= fc.numGlyphs {
			return nil, nil, fmt.Errorf("glyph %d out of range", e.gid)
		}
		add(e.gid)
	}
	for i := 0; i < len(order); i++ {
		g := fc.glyphData(order[i])
		if len(g) < 10 || int16(binary.BigEndian.Uint16(g)) >= 0 {
			continue
		}
		err := walkComponents(g, func(pos int, comp uint16) error {
			if int(comp) >= fc.numGlyphs {
				return fmt.Errorf("component glyph %d out of range", comp)
			}
			add(comp)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(order) > maxCompositeGl {
			return nil, nil, errors.New("too many glyphs")
		}
	}
	return newID, order, nil
}

// subsetGlyf copies the outlines of order into a new glyf table, with
// composite glyphs pointing at their components' new ids, and makes its
// loca table (long offsets).
func (fc *face) subsetGlyf(order []uint16, newID map[uint16]uint16) (glyf, loca []byte, err error) {
	loca = make([]byte, 4*(len(order)+1))
	for i, old := range order {
		binary.BigEndian.PutUint32(loca[4*i:], uint32(len(glyf)))
		g := fc.glyphData(old)
		start := len(glyf)
		glyf = append(glyf, g...)
		if len(g) >= 10 && int16(binary.BigEndian.Uint16(g)) < 0 {
			out := glyf[start:]
			if err := walkComponents(out, func(pos int, comp uint16) error {
				binary.BigEndian.PutUint16(out[pos:], newID[comp])
				return nil
			}); err != nil {
				return nil, nil, err
			}
		}
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
	}
	binary.BigEndian.PutUint32(loca[4*len(order):], uint32(len(glyf)))
	return glyf, loca, nil
}

// subsetHeaders returns the face's other tables, adjusted for a font of
// n glyphs with long loca offsets and no glyph names.
func (fc *face) subsetHeaders(n int) map[string][]byte {
	head := append([]byte(nil), fc.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0) // checkSumAdjustment, set by assembleFont
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := append([]byte(nil), fc.tables["hhea"]...)
	binary.BigEndian.PutUint16(hhea[34:], uint16(n))
	maxp := append([]byte(nil), fc.tables["maxp"]...)
	binary.BigEndian.PutUint16(maxp[4:], uint16(n))
	// post version 3: no glyph names.
	post := make([]byte, 32)
	copy(post, fc.tables["post"])
	binary.BigEndian.PutUint32(post, 0x00030000)

	tables := map[string][]byte{
		"head": head, "hhea": hhea, "maxp": maxp, "post": post,
		"name": fc.tables["name"], "OS/2": fc.tables["OS/2"],
	}
	for _, t := range []string{"cvt ", "fpgm", "prep", "gasp"} {
		if b := fc.tables[t]; len(b) > 0 {
			tables[t] = b
		}
	}
	return tables
}

// glyphData returns the outline bytes of gid (empty for blank glyphs).
func (fc *face) glyphData(gid uint16) []byte {
	a, b := fc.loca[gid], fc.loca[int(gid)+1]
	if b <= a {
		return nil
	}
	return fc.glyf[a:b]
}

// walkComponents calls fn with the byte position of each component's glyph
// index inside the composite glyph g.
func walkComponents(g []byte, fn func(pos int, comp uint16) error) error {
	pos := 10
	for {
		if pos+4 > len(g) {
			return errors.New("composite glyph truncated")
		}
		flags := binary.BigEndian.Uint16(g[pos:])
		if err := fn(pos+2, binary.BigEndian.Uint16(g[pos+2:])); err != nil {
			return err
		}
		pos += 4
		if flags&compArgWords != 0 {
			pos += 4
		} else {
			pos += 2
		}
		switch {
		case flags&compScale != 0:
			pos += 2
		case flags&compXYScale != 0:
			pos += 4
		case flags&compTwoByTwo != 0:
			pos += 8
		}
		if flags&compMore == 0 {
			return nil
		}
	}
}

// buildCmap4 writes a cmap table with one (3,1) format 4 subtable. Runs of
// consecutive codes with consecutive glyphs share a segment.
func buildCmap4(entries []cmapEntry, newID map[uint16]uint16) ([]byte, error) {
	type seg struct{ start, end, delta uint16 }
	var segs []seg
	for _, e := range entries {
		if e.code == 0xFFFF {
			continue
		}
		g := newID[e.gid]
		delta := g - e.code // modulo 65536, as the format wants
		if n := len(segs); n > 0 && segs[n-1].end+1 == e.code && segs[n-1].delta == delta {
			segs[n-1].end = e.code
			continue
		}
		if n := len(segs); n > 0 && segs[n-1].end >= e.code {
			continue // duplicate code
		}
		segs = append(segs, seg{e.code, e.code, delta})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF, 1})
	if len(segs) > maxSubsetSegs {
		return nil, errors.New("too many characters for one document")
	}
	n := len(segs)
	searchRange, entrySelector := 2, 0
	for searchRange*2 <= 2*n {
		searchRange *= 2
		entrySelector++
	}
	sub := make([]byte, 16+8*n)
	binary.BigEndian.PutUint16(sub[0:], 4)
	binary.BigEndian.PutUint16(sub[2:], uint16(len(sub)))
	binary.BigEndian.PutUint16(sub[4:], 0) // language
	binary.BigEndian.PutUint16(sub[6:], uint16(2*n))
	binary.BigEndian.PutUint16(sub[8:], uint16(searchRange))
	binary.BigEndian.PutUint16(sub[10:], uint16(entrySelector))
	binary.BigEndian.PutUint16(sub[12:], uint16(2*n-searchRange))
	ends := 14
	starts := ends + 2*n + 2 // after reservedPad
	deltas := starts + 2*n
	ranges := deltas + 2*n
	for i, s := range segs {
		binary.BigEndian.PutUint16(sub[ends+2*i:], s.end)
		binary.BigEndian.PutUint16(sub[starts+2*i:], s.start)
		binary.BigEndian.PutUint16(sub[deltas+2*i:], s.delta)
		binary.BigEndian.PutUint16(sub[ranges+2*i:], 0)
	}
	out := make([]byte, 12, 12+len(sub))
	binary.BigEndian.PutUint16(out[0:], 0) // version
	binary.BigEndian.PutUint16(out[2:], 1) // one encoding record
	binary.BigEndian.PutUint16(out[4:], 3) // Windows
	binary.BigEndian.PutUint16(out[6:], 1) // Unicode BMP
	binary.BigEndian.PutUint32(out[8:], 12)
	return append(out, sub...), nil
}

// assembleFont writes the table directory and tables (sorted by tag, each
// 4-byte aligned, with checksums) and sets head.checkSumAdjustment.
func assembleFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	size := 12 + 16*len(tables)
	for t, b := range tables {
		tags = append(tags, t)
		size += (len(b) + 3) &^ 3
	}
	sort.Strings(tags)
	n := len(tags)
	sr, es := 1, 0
	for sr*2 <= n {
		sr *= 2
		es++
	}
	out := make([]byte, 12+16*n, size)
	binary.BigEndian.PutUint32(out[0:], 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(16*sr))
	binary.BigEndian.PutUint16(out[8:], uint16(es))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-16*sr))
	headAt := 0
	for i, t := range tags {
		b := tables[t]
		rec := out[12+16*i:]
		copy(rec, t)
		binary.BigEndian.PutUint32(rec[4:], tableChecksum(b))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(b)))
		if t == "head" {
			headAt = len(out)
		}
		out = append(out, b...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-tableChecksum(out))
	return out
}

func tableChecksum(b []byte) uint32 {
	var sum uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		sum += binary.BigEndian.Uint32(b[i:])
	}
	if i < len(b) {
		var last [4]byte
		copy(last[:], b[i:])
		sum += binary.BigEndian.Uint32(last[:])
	}
	return sum
}
