package pdf_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
)

// fuzzInk draws a small stroke of ink on white in the given image.
func fuzzInk(img interface {
	Set(x, y int, c color.Color)
	Bounds() image.Rectangle
}) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, color.White)
		}
	}
	for x := b.Min.X + 2; x < b.Max.X-2; x++ {
		img.Set(x, b.Min.Y+b.Dy()/2+(x%3)-1, color.RGBA{10, 10, 60, 255})
	}
}

func fuzzPNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzNormalizeSignature: any upload is either refused with EINVALID and a
// message or turned into an 8-bit NRGBA PNG within the output box, quickly.
func FuzzNormalizeSignature(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 24, 12))
	fuzzInk(small)
	valid := fuzzPNG(f, small)
	deep := image.NewRGBA64(image.Rect(0, 0, 20, 10))
	fuzzInk(deep)
	grey := image.NewGray(image.Rect(0, 0, 16, 8))
	fuzzInk(grey)
	pal := image.NewPaletted(image.Rect(0, 0, 16, 8), color.Palette{color.White, color.Black, color.Transparent})
	fuzzInk(pal)
	wide := image.NewNRGBA(image.Rect(0, 0, 600, 20))
	fuzzInk(wide)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 256)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	for _, seed := range [][]byte{
		valid, fuzzPNG(f, deep), fuzzPNG(f, grey), fuzzPNG(f, pal), fuzzPNG(f, wide),
		valid[:len(valid)/2], valid[:8], valid[:33],
		fuzzPNG(f, image.NewNRGBA(image.Rect(0, 0, 8, 8))),       // blank
		{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, // JPEG header
		append([]byte("\x89PNG\r\n\x1a\n"), random...),
		random, {},
		fuzzBomb(f, 100000, 100000, 1), fuzzBomb(f, 4097, 1, 1), fuzzBomb(f, 4096, 4096, 1), fuzzBomb(f, 0, 10, 1),
		fuzzBomb(f, 64, 64, 64), // valid but all black
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		out, err := pdf.NormalizeSignature(data)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(data))
		}
		if err != nil {
			if daiban.ErrorCode(err) != daiban.EINVALID || daiban.ErrorMessage(err) == "" || daiban.ErrorField(err) != "image_png" {
				t.Fatalf("%v", err)
			}
			return
		}
		if len(data) > 512<<10 {
			t.Fatalf("accepted %d bytes", len(data))
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("output config: %v", err)
		}
		if cfg.ColorModel != color.NRGBAModel {
			t.Fatalf("output colour model %v, want 8-bit NRGBA", cfg.ColorModel)
		}
		if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > 450 || cfg.Height > 150 {
			t.Fatalf("output %d×%d outside 450×150", cfg.Width, cfg.Height)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("output does not decode: %v", err)
		}
		if _, ok := img.(*image.NRGBA); !ok {
			t.Fatalf("output decodes as %T, want *image.NRGBA", img)
		}
		// The output is itself a valid signature and never grows. (It may
		// shrink: scaled edges can fall under the ink threshold.)
		again, err := pdf.NormalizeSignature(out)
		if err != nil && daiban.ErrorCode(err) != daiban.EINVALID {
			t.Fatalf("output refused as input: %v", err)
		}
		if err == nil {
			if c2, err := png.DecodeConfig(bytes.NewReader(again)); err != nil || c2.Width > cfg.Width || c2.Height > cfg.Height {
				t.Fatalf("normalizing twice grew %d×%d to %v (%v)", cfg.Width, cfg.Height, c2, err)
			}
		}
	})
}

// fuzzBomb is a greyscale PNG of w×h zero pixels (rows compressed to almost
// nothing): past the limits it must be refused before decoding.
func fuzzBomb(tb testing.TB, w, h int, rows int) []byte {
	tb.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, rows*(w+1)))
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}
