package pdf

import (
	"bytes"
	"image"
	"image/color"
	"image/png"

	"github.com/daiban/daiban"
)

const (
	maxSignatureBytes = 512 << 10 // upload limit
	maxSignaturePx    = 4096      // per side, before decoding (decompression bombs)
	maxSignatureArea  = 8 << 20   // pixels, before decoding
	sigMaxW           = 450       // output box (px); larger signatures are scaled down
	sigMaxH           = 150
	sigMargin         = 4   // transparent border kept around the ink (px)
	nearWhite         = 230 // channels at or above this on all of R, G, B are background
	minInkAlpha       = 16  // pixels fainter than this are background
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// NormalizeSignature checks a handwritten signature upload and re-encodes
// it for the documents: only a real PNG under 512 KiB is accepted (magic
// bytes, sane dimensions, full decode); near-white and almost transparent
// pixels become transparent; the result is trimmed to the ink plus a small
// margin, scaled down to fit 450×150 px (about 250 dpi in the 15 mm
// signature boxes) and written as an 8-bit, non-interlaced NRGBA PNG
// (which gofpdf embeds with a soft mask). 16-bit, paletted, grey and
// interlaced inputs are all accepted through the re-encoding. Errors are
// EINVALID on field "image_png".
func NormalizeSignature(data []byte) ([]byte, error) {
	img, err := decodeSignature(data)
	if err != nil {
		return nil, err
	}
	src, ink, ok := inkOf(img)
	if !ok {
		return nil, daiban.Invalid(signatureField, "签名为空白，请重新签名")
	}
	out := fitSignature(src, ink)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, daiban.Errorf(daiban.EINTERNAL, "签名图片处理失败")
	}
	return buf.Bytes(), nil
}

// signatureField is the field named by NormalizeSignature's errors.
const signatureField = "image_png"

// decodeSignature checks the size, format and dimensions of an upload
// before decoding it in full.
func decodeSignature(data []byte) (image.Image, error) {
	const field = signatureField
	if len(data) == 0 {
		return nil, daiban.Invalid(field, "签名图片为空，请重新签名")
	}
	if len(data) > maxSignatureBytes {
		return nil, daiban.Invalid(field, "签名图片过大（%d KiB），不能超过 512 KiB", (len(data)+1023)/1024)
	}
	if !bytes.HasPrefix(data, pngMagic) {
		return nil, daiban.Invalid(field, "签名图片必须是 PNG 格式")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, daiban.Invalid(field, "签名图片已损坏，无法识别，请重新签名")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxSignaturePx || cfg.Height > maxSignaturePx || cfg.Width*cfg.Height > maxSignatureArea {
		return nil, daiban.Invalid(field, "签名图片尺寸不合适（%d×%d 像素），请重新签名", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, daiban.Invalid(field, "签名图片已损坏，无法解码，请重新签名")
	}
	return img, nil
}

// inkOf copies img with its background made transparent and returns the
// ink's bounding box; ok is false when there is no ink at all.
func inkOf(img image.Image) (src *image.NRGBA, ink image.Rectangle, ok bool) {
	b := img.Bounds()
	src = image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	minX, minY, maxX, maxY := b.Dx(), b.Dy(), -1, -1
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			if c.A < minInkAlpha || (c.R >= nearWhite && c.G >= nearWhite && c.B >= nearWhite) {
				continue // stays transparent
			}
			src.SetNRGBA(x, y, c)
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
	}
	if maxX < 0 {
		return nil, image.Rectangle{}, false
	}
	return src, image.Rect(minX, minY, maxX+1, maxY+1), true
}

// fitSignature scales the ink down to fit the output box (never up) and
// places it inside the margin.
func fitSignature(src *image.NRGBA, ink image.Rectangle) *image.NRGBA {
	w, h := ink.Dx(), ink.Dy()
	availW, availH := sigMaxW-2*sigMargin, sigMaxH-2*sigMargin
	ow, oh := w, h
	if ow > availW || oh > availH {
		if w*availH > h*availW { // wider than the box
			ow, oh = availW, max(1, h*availW/w)
		} else {
			ow, oh = max(1, w*availH/h), availH
		}
	}
	out := image.NewNRGBA(image.Rect(0, 0, ow+2*sigMargin, oh+2*sigMargin))
	if ow == w && oh == h {
		for y := 0; y < h; y++ {
			copy(out.Pix[out.PixOffset(sigMargin, sigMargin+y):], src.Pix[src.PixOffset(ink.Min.X, ink.Min.Y+y):src.PixOffset(ink.Max.X, ink.Min.Y+y)])
		}
	} else {
		boxScale(src, ink, out, image.Rect(sigMargin, sigMargin, sigMargin+ow, sigMargin+oh))
	}
	return out
}

// boxScale shrinks the sr area of src into the dr area of dst by averaging
// every source pixel that falls into each destination pixel, in
// premultiplied alpha so transparent pixels do not darken the edges.
func boxScale(src *image.NRGBA, sr image.Rectangle, dst *image.NRGBA, dr image.Rectangle) {
	sw, sh := sr.Dx(), sr.Dy()
	dw, dh := dr.Dx(), dr.Dy()
	for dy := 0; dy < dh; dy++ {
		y0 := sr.Min.Y + dy*sh/dh
		y1 := sr.Min.Y + (dy+1)*sh/dh
		if y1 <= y0 {
			y1 = y0 + 1
		}
		for dx := 0; dx < dw; dx++ {
			x0 := sr.Min.X + dx*sw/dw
			x1 := sr.Min.X + (dx+1)*sw/dw
			if x1 <= x0 {
				x1 = x0 + 1
			}
			var r, g, bl, a, n uint64
			for y := y0; y < y1; y++ {
				p := src.Pix[src.PixOffset(x0, y):]
				for x := 0; x < x1-x0; x++ {
					pa := uint64(p[4*x+3])
					r += uint64(p[4*x]) * pa
					g += uint64(p[4*x+1]) * pa
					bl += uint64(p[4*x+2]) * pa
					a += pa
					n++
				}
			}
			if a == 0 {
				continue
			}
			o := dst.PixOffset(dr.Min.X+dx, dr.Min.Y+dy)
			dst.Pix[o] = uint8(r / a)
			dst.Pix[o+1] = uint8(g / a)
			dst.Pix[o+2] = uint8(bl / a)
			dst.Pix[o+3] = uint8(a / n)
		}
	}
}
