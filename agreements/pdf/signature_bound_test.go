package pdf_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/agreements/pdf/pngtest"
)

// flatPNG is a w×h PNG of one flat colour (see pngtest.Flat).
func flatPNG(tb testing.TB, w, h int, depth, colorType byte) []byte {
	tb.Helper()
	return pngtest.Flat(w, h, depth, colorType)
}

// TestSignatureHeaderDecidesBeforeDecoding: the review's image (16-bit,
// 3000×3000, about 100 KB) is refused from its header alone, without the
// 72 MB its pixels would take; 16-bit images get half the pixels of 8-bit
// ones; an 8-bit image just under 2 megapixels passes.
func TestSignatureHeaderDecidesBeforeDecoding(t *testing.T) {
	attack := flatPNG(t, 3000, 3000, 16, 6)
	t.Logf("16-bit 3000×3000 PNG: %d bytes", len(attack))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := pdf.CheckSignature(attack)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if daiban.ErrorCode(err) != daiban.EINVALID || !strings.Contains(daiban.ErrorMessage(err), "过大") {
		t.Fatalf("16-bit 3000×3000: %v, want a 422 saying it is too large", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 || took > 50*time.Millisecond {
		t.Errorf("checking the header took %v and %d bytes: it decoded", took, alloc)
	}
	if _, err := pdf.NormalizeSignature(attack); daiban.ErrorCode(err) != daiban.EINVALID {
		t.Errorf("NormalizeSignature took the 16-bit 3000×3000 image: %v", err)
	}
	for _, tc := range []struct {
		name         string
		w, h         int
		depth, ctype byte
		ok           bool
	}{
		{"16-bit RGBA, 2896×2896 (just under the old 8-megapixel bound)", 2896, 2896, 16, 6, false},
		{"16-bit RGBA, 1.2 megapixels", 1200, 1000, 16, 6, false},
		{"16-bit RGB, 1 megapixel", 1000, 1000, 16, 2, true},
		{"8-bit RGBA, 1.96 megapixels", 1400, 1400, 8, 6, true},
		{"8-bit RGBA, 2.1 megapixels", 1450, 1450, 8, 6, false},
	} {
		err := pdf.CheckSignature(flatPNG(t, tc.w, tc.h, tc.depth, tc.ctype))
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want accepted %v", tc.name, err, tc.ok)
		}
	}
}

// TestSignatureDecodingWaitsForARenderingSlot: Renderer.Signature decodes
// only in one of the renderer's slots (the bound documents render
// under), while a bad header is refused at once, slot or no slot.
func TestSignatureDecodingWaitsForARenderingSlot(t *testing.T) {
	r := testRenderer(t)
	r.Pool(1)
	hold, held := make(chan struct{}), make(chan struct{})
	go func() { _ = r.Do(context.Background(), func() { close(held); <-hold }) }()
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.Signature(ctx, flatPNG(t, 3000, 3000, 16, 6)); daiban.ErrorCode(err) != daiban.EINVALID {
		t.Errorf("bad header with every slot taken: %v, want 422 at once", err)
	}
	good := signaturePNG(2, 400, 150)
	if _, err := r.Signature(ctx, good); daiban.ErrorCode(err) != daiban.EUNAVAILABLE {
		t.Errorf("decoding with every slot taken: %v, want 503 once the wait ends", err)
	}
	close(hold)
	out, err := r.Signature(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	assertNormalized(t, out)
}
