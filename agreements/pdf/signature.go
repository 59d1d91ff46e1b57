package pdf

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"

	"github.com/daiban/daiban"
)

const (
	maxSignatureBytes = 512 << 10 // upload limit
	maxSignaturePx    = 4096      // per side, before decoding (decompression bombs)
	maxSignatureArea  = 2_000_000 // pixels (2 megapixels), before decoding
	// maxSignatureDecoded bounds the memory a decode takes, read from the
	// header: 2 megapixels at 8 bits a channel (RGBA), so a 16-bit image
	// may have half as many pixels.
	maxSignatureDecoded = maxSignatureArea * 4
	sigMaxW             = 450 // output box (px); larger signatures are scaled down
	sigMaxH             = 150
	sigMargin           = 4   // transparent border kept around the ink (px)
	nearWhite           = 230 // channels at or above this on all of R, G, B are background
	minInkAlpha         = 16  // pixels fainter than this are background
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// NormalizeSignature checks a handwritten signature upload and re-encodes
// it for the documents: only a real PNG under 512 KiB is accepted (magic
// bytes, header within 2 megapixels and 8 MB decoded, full decode);
// near-white and almost transparent pixels become transparent; the
// result is trimmed to the ink plus a small margin, scaled down to fit
// 450×150 px (about 250 dpi in the 15 mm signature boxes) and written as
// an 8-bit, non-interlaced NRGBA PNG (which gofpdf embeds with a soft
// mask). 16-bit (up to 1 megapixel), paletted, grey and interlaced inputs
// are all accepted through the re-encoding. Errors are EINVALID on field
// "image_png". Decoding is the costly part: servers call it through
// Renderer.Signature, which bounds how many run at once.
func NormalizeSignature(data []byte) ([]byte, error) {
	if err := CheckSignature(data); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, daiban.Invalid(signatureField, "签名图片已损坏，无法解码，请重新签名")
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

// Signature is NormalizeSignature under the renderer's bound: the cheap
// checks (size, format, the header's dimensions and depth) run at once,
// the decoding only when a rendering slot is free, so a burst of
// signatures takes no more memory or CPU than a burst of documents.
func (r *Renderer) Signature(ctx context.Context, data []byte) ([]byte, error) {
	if err := CheckSignature(data); err != nil {
		return nil, err
	}
	var out []byte
	var nerr error
	if err := r.Do(ctx, func() { out, nerr = NormalizeSignature(data) }); err != nil {
		return nil, err
	}
	return out, nerr
}

// signatureField is the field named by NormalizeSignature's errors.
const signatureField = "image_png"

// errSignatureTooLarge is the answer to a signature too big to take.
var errSignatureTooLarge = daiban.Invalid(signatureField, "签名图片过大，请清除后重签")

// CheckSignature checks an upload's size, format and PNG header (its
// dimensions, and the memory its decoding would take from the bit depth
// and colour type) without decoding any pixel. It costs microseconds, so
// it runs before anything else is done with a signature.
func CheckSignature(data []byte) error {
	const field = signatureField
	if len(data) == 0 {
		return daiban.Invalid(field, "签名图片为空，请重新签名")
	}
	if len(data) > maxSignatureBytes {
		return errSignatureTooLarge
	}
	if !bytes.HasPrefix(data, pngMagic) {
		return daiban.Invalid(field, "签名图片必须是 PNG 格式")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return daiban.Invalid(field, "签名图片已损坏，无法识别，请重新签名")
	}
	w, h := cfg.Width, cfg.Height
	if w < 1 || h < 1 || w > maxSignaturePx || h > maxSignaturePx || w*h > maxSignatureArea ||
		w*h*bytesPerPixel(cfg.ColorModel) > maxSignatureDecoded {
		return daiban.Invalid(field, "签名图片尺寸过大（%d×%d 像素），请清除后重签", w, h)
	}
	return nil
}

// bytesPerPixel is what image/png allocates per pixel for a colour model.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.Gray16Model:
		return 2
	}
	return 1 // grey and paletted
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
