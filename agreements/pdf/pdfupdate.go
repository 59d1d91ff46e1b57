package pdf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/digitorus/pdf"
)

// update is one incremental update of a PDF (ISO 32000-1 §7.5.6): new and
// changed objects appended after the last %%EOF, an xref section listing
// them and a trailer pointing back at the previous one. The original bytes
// are never touched, which is what keeps earlier signatures valid.
//
// digitorus/pdfsign writes such updates too, but only with SubFilter
// adbe.pkcs7.detached, a signingTime attribute, no DSS and no /Perms, so
// the seal writes its own (the CMS itself is built with digitorus/pkcs7).
type update struct {
	base     []byte
	rdr      *pdf.Reader
	buf      bytes.Buffer
	next     uint32           // next free object number
	offsets  map[uint32]int64 // object number → offset in base+buf
	prevXref int64
}

func newUpdate(doc []byte) (*update, error) {
	rdr, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return nil, fmt.Errorf("read pdf: %w", err)
	}
	prev, err := lastStartXref(doc)
	if err != nil {
		return nil, err
	}
	size := rdr.Trailer().Key("Size").Int64()
	if size <= 0 {
		return nil, errors.New("pdf: trailer has no /Size")
	}
	u := &update{base: doc, rdr: rdr, next: uint32(size), offsets: map[uint32]int64{}, prevXref: prev}
	if !bytes.HasSuffix(doc, []byte("\n")) {
		u.buf.WriteByte('\n')
	}
	return u, nil
}

// lastStartXref reads the offset after the last "startxref".
func lastStartXref(doc []byte) (int64, error) {
	i := bytes.LastIndex(doc, []byte("startxref"))
	if i < 0 {
		return 0, errors.New("pdf: no startxref")
	}
	f := strings.Fields(string(doc[i+len("startxref") : min(len(doc), i+len("startxref")+40)]))
	if len(f) == 0 {
		return 0, errors.New("pdf: bad startxref")
	}
	return strconv.ParseInt(f[0], 10, 64)
}

// alloc reserves a new object number.
func (u *update) alloc() uint32 {
	n := u.next
	u.next++
	return n
}

// put writes object id with the given body.
func (u *update) put(id uint32, body []byte) {
	u.offsets[id] = int64(len(u.base) + u.buf.Len())
	fmt.Fprintf(&u.buf, "%d 0 obj\n", id)
	u.buf.Write(body)
	u.buf.WriteString("\nendobj\n")
}

// putStream writes a stream object holding data (uncompressed: DER blobs
// gain nothing from deflate).
func (u *update) putStream(id uint32, data []byte) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<< /Length %d >>\nstream\n", len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	u.put(id, b.Bytes())
}

// finish writes the xref section and trailer (new /Root when root != 0)
// and returns the whole new file.
func (u *update) finish(root uint32) []byte {
	ids := make([]uint32, 0, len(u.offsets))
	for id := range u.offsets {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	xref := int64(len(u.base) + u.buf.Len())
	u.buf.WriteString("xref\n")
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		fmt.Fprintf(&u.buf, "%d %d\n", ids[i], j-i+1)
		for k := i; k <= j; k++ {
			fmt.Fprintf(&u.buf, "%010d 00000 n\r\n", u.offsets[ids[k]])
		}
		i = j + 1
	}
	tr := u.rdr.Trailer()
	fmt.Fprintf(&u.buf, "trailer\n<< /Size %d /Root %s /Prev %d", u.next, u.rootRef(root), u.prevXref)
	if info := tr.Key("Info"); !info.IsNull() {
		fmt.Fprintf(&u.buf, " /Info %d %d R", ptrOf(info).id, ptrOf(info).gen)
	}
	if id := tr.Key("ID"); id.Kind() == pdf.Array {
		u.buf.WriteString(" /ID ")
		writeValue(&u.buf, id, 0)
	}
	fmt.Fprintf(&u.buf, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	out := make([]byte, 0, len(u.base)+u.buf.Len())
	return append(append(out, u.base...), u.buf.Bytes()...)
}

func (u *update) rootRef(root uint32) string {
	if root != 0 {
		return fmt.Sprintf("%d 0 R", root)
	}
	p := ptrOf(u.rdr.Trailer().Key("Root"))
	return fmt.Sprintf("%d %d R", p.id, p.gen)
}

// catalog returns the document catalog and its object number.
func (u *update) catalog() (pdf.Value, uint32) {
	root := u.rdr.Trailer().Key("Root")
	return root, ptrOf(root).id
}

// copyDict writes dict's entries except those in skip, in the syntax of
// object self (values read through a reference are written as references).
func copyDict(b *bytes.Buffer, dict pdf.Value, self uint32, skip ...string) {
	for _, k := range dict.Keys() {
		if contains(skip, k) {
			continue
		}
		b.WriteString("/" + k + " ")
		writeValue(b, dict.Key(k), self)
		b.WriteByte('\n')
	}
}

// refsOf lists the elements of an array as they are to be written again:
// "n g R" for referenced objects (annotations, fields), the value itself
// for a direct one (gofpdf writes link annotations inline).
func refsOf(arr pdf.Value) []string {
	var out []string
	self := ptrOf(arr).id
	for i := 0; i < arr.Len(); i++ {
		var b bytes.Buffer
		writeValue(&b, arr.Index(i), self)
		out = append(out, b.String())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// writeValue serializes v. A value whose object number differs from self
// was reached through an indirect reference and is written as one.
func writeValue(b *bytes.Buffer, v pdf.Value, self uint32) {
	if p := ptrOf(v); self != 0 && p.id != self && p.id != 0 {
		fmt.Fprintf(b, "%d %d R", p.id, p.gen)
		return
	}
	switch v.Kind() {
	case pdf.Null:
		b.WriteString("null")
	case pdf.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case pdf.Integer:
		b.WriteString(strconv.FormatInt(v.Int64(), 10))
	case pdf.Real:
		b.WriteString(strconv.FormatFloat(v.Float64(), 'f', -1, 64))
	case pdf.String:
		b.WriteString("<" + hex.EncodeToString([]byte(v.RawString())) + ">")
	case pdf.Name:
		b.WriteString("/" + v.Name())
	case pdf.Dict:
		b.WriteString("<<")
		for _, k := range v.Keys() {
			b.WriteString(" /" + k + " ")
			writeValue(b, v.Key(k), self)
		}
		b.WriteString(" >>")
	case pdf.Array:
		b.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, v.Index(i), self)
		}
		b.WriteString("]")
	default:
		b.WriteString("null")
	}
}

// pdfText is a PDF text string in UTF-16BE with a byte-order mark, as a
// hex string: any name, Chinese included, without escaping traps.
func pdfText(s string) string {
	var b strings.Builder
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

type objRef struct {
	id  uint32
	gen uint16
}

// ptrOf is the object a value was read from (digitorus/pdf's objptr has
// pointer-receiver getters, so it is copied first).
func ptrOf(v pdf.Value) objRef {
	p := v.GetPtr()
	return objRef{id: p.GetID(), gen: p.GetGen()}
}
