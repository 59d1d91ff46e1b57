package pdf_test

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/agreements/pdf/pngtest"
)

// assertNormalized checks the output contract: an 8-bit RGBA, non-interlaced
// PNG that decodes to NRGBA, with a transparent background and some ink.
func assertNormalized(t *testing.T, out []byte) *image.NRGBA {
	t.Helper()
	if len(out) < 33 || out[24] != 8 || out[25] != 6 || out[28] != 0 {
		t.Fatalf("IHDR: depth %d colour type %d interlace %d, want 8/6/0", out[24], out[25], out[28])
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("decodes as %T, want *image.NRGBA", img)
	}
	b := n.Bounds()
	if b.Dx() > 450 || b.Dy() > 150 {
		t.Errorf("not scaled: %v", b)
	}
	for _, p := range []image.Point{{0, 0}, {b.Dx() - 1, 0}, {0, b.Dy() - 1}, {b.Dx() - 1, b.Dy() - 1}} {
		if a := n.NRGBAAt(p.X, p.Y).A; a != 0 {
			t.Errorf("corner %v alpha %d, want transparent", p, a)
		}
	}
	ink, white := 0, 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := n.NRGBAAt(x, y)
			if c.A > 200 {
				ink++
			}
			if c.A > 0 && c.R > 240 && c.G > 240 && c.B > 240 {
				white++
			}
		}
	}
	if ink == 0 {
		t.Error("no ink left")
	}
	if white > 0 {
		t.Errorf("%d opaque near-white pixels left", white)
	}
	return n
}

func assertInvalidImage(t *testing.T, label string, data []byte, msg string) {
	t.Helper()
	_, err := pdf.NormalizeSignature(data)
	if err == nil {
		t.Errorf("%s: accepted", label)
		return
	}
	if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorField(err) != "image_png" || !strings.Contains(daiban.ErrorMessage(err), msg) {
		t.Errorf("%s: code=%s field=%s msg=%s", label, daiban.ErrorCode(err), daiban.ErrorField(err), daiban.ErrorMessage(err))
	}
}

func TestNormalizeSignatureAccepts(t *testing.T) {
	// Plain 8-bit RGB on white.
	out, err := pdf.NormalizeSignature(signaturePNG(1, 800, 300))
	if err != nil {
		t.Fatal(err)
	}
	n := assertNormalized(t, out)
	if n.Bounds().Dx() != 450 {
		t.Errorf("wide signature should fill the width: %v", n.Bounds())
	}

	// 16-bit: the same drawing as NRGBA64.
	src, _ := png.Decode(bytes.NewReader(signaturePNG(2, 500, 200)))
	img16 := image.NewNRGBA64(src.Bounds())
	for y := 0; y < src.Bounds().Dy(); y++ {
		for x := 0; x < src.Bounds().Dx(); x++ {
			img16.Set(x, y, src.At(x, y))
		}
	}
	var b16 bytes.Buffer
	if err := png.Encode(&b16, img16); err != nil {
		t.Fatal(err)
	}
	if b16.Bytes()[24] != 16 {
		t.Fatalf("test image is not 16-bit")
	}
	out, err = pdf.NormalizeSignature(b16.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	assertNormalized(t, out)

	// Interlaced (Adam7), written by hand: Go's encoder cannot.
	inter := interlacedPNG(t, src)
	if inter[28] != 1 {
		t.Fatal("test image is not interlaced")
	}
	if _, err := png.Decode(bytes.NewReader(inter)); err != nil {
		t.Fatalf("hand-made interlaced PNG is broken: %v", err)
	}
	out, err = pdf.NormalizeSignature(inter)
	if err != nil {
		t.Fatal(err)
	}
	assertNormalized(t, out)

	// Already transparent, small: kept at its size (plus margin), not scaled up.
	small := image.NewNRGBA(image.Rect(0, 0, 60, 20))
	for x := 5; x < 55; x++ {
		small.SetNRGBA(x, 10, color.NRGBA{0, 0, 0, 255})
	}
	var bs bytes.Buffer
	png.Encode(&bs, small)
	out, err = pdf.NormalizeSignature(bs.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	n = assertNormalized(t, out)
	if n.Bounds().Dx() != 50+8 || n.Bounds().Dy() != 1+8 {
		t.Errorf("trimmed size %v, want 58×9", n.Bounds())
	}

	// Normalizing twice changes nothing visible (idempotent output shape).
	again, err := pdf.NormalizeSignature(out)
	if err != nil {
		t.Fatal(err)
	}
	assertNormalized(t, again)
}

func TestNormalizeSignatureRejects(t *testing.T) {
	// A JPEG.
	src, _ := png.Decode(bytes.NewReader(signaturePNG(1, 300, 100)))
	var j bytes.Buffer
	if err := jpeg.Encode(&j, src, nil); err != nil {
		t.Fatal(err)
	}
	assertInvalidImage(t, "jpeg", j.Bytes(), "PNG")
	// Random bytes, and random bytes behind a PNG signature.
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	assertInvalidImage(t, "random", junk, "PNG")
	assertInvalidImage(t, "png magic + random", append([]byte("\x89PNG\r\n\x1a\n"), junk...), "损坏")
	assertInvalidImage(t, "empty", nil, "为空")
	// Truncated PNG.
	good := signaturePNG(1, 300, 100)
	assertInvalidImage(t, "truncated", good[:len(good)/2], "损坏")
	// Over 512 KiB: noise does not compress.
	noise := image.NewNRGBA(image.Rect(0, 0, 420, 420))
	for i := range noise.Pix {
		noise.Pix[i] = byte(rng.UintN(256))
	}
	var big bytes.Buffer
	png.Encode(&big, noise)
	if big.Len() <= 512<<10 {
		t.Fatalf("noise PNG only %d bytes", big.Len())
	}
	assertInvalidImage(t, "oversize", big.Bytes(), "过大")
	// Huge dimensions in a tiny file (decompression bomb).
	bomb := image.NewGray(image.Rect(0, 0, 5000, 3000))
	var bb bytes.Buffer
	png.Encode(&bb, bomb)
	assertInvalidImage(t, "bomb", bb.Bytes(), "尺寸")
	// All white: nothing signed.
	white := image.NewGray(image.Rect(0, 0, 300, 100))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	var bw bytes.Buffer
	png.Encode(&bw, white)
	assertInvalidImage(t, "blank", bw.Bytes(), "空白")
}

// interlacedPNG encodes img as an 8-bit RGBA Adam7-interlaced PNG.
func interlacedPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	passes := [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	var raw bytes.Buffer
	for _, p := range passes {
		for y := p[1]; y < h; y += p[3] {
			if p[0] >= w {
				break
			}
			raw.WriteByte(0) // filter: none
			for x := p[0]; x < w; x += p[2] {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				raw.Write([]byte{c.R, c.G, c.B, c.A})
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	return pngtest.Encode(w, h, 8, pngtest.RGBA, true, z.Bytes())
}

// TestRendererNormalizesOddPNG: a 16-bit signature handed straight to the
// renderer (skipping NormalizeSignature) is re-encoded, not refused by
// gofpdf.
func TestRendererNormalizesOddPNG(t *testing.T) {
	src, _ := png.Decode(bytes.NewReader(signaturePNG(4, 400, 150)))
	img16 := image.NewRGBA64(src.Bounds())
	for y := 0; y < src.Bounds().Dy(); y++ {
		for x := 0; x < src.Bounds().Dx(); x++ {
			img16.Set(x, y, src.At(x, y))
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img16)
	d := benchAgreement(t)
	d.ApplicantSignature = b.Bytes()
	d.AgentSignature = interlacedPNG(t, src)
	if _, err := testRenderer(t).Agreement(d); err != nil {
		t.Fatal(err)
	}
}
