package pdf_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/daiban/daiban/agreements/pdf"
)

var testCenter = pdf.Center{
	Name:    "沂源县政务服务中心",
	Address: "沂源县历山街道城关社区胜利路 17 号",
	Phone:   "0533-3241234",
	BaseURL: "http://127.0.0.1:8080",
}

var (
	tmpRoot string // removed by TestMain

	fontsOnce sync.Once
	fonts     *pdf.Fonts
	fontsErr  error

	sealOnce sync.Once
	sealer   *pdf.Sealer
	sealDir  string
	sealErr  error
)

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "agreements-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if os.Getenv("AGREEMENTS_KEEP") == "" {
		os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// loadFonts loads the fonts once per test binary.
func loadFonts(tb testing.TB) *pdf.Fonts {
	tb.Helper()
	fontsOnce.Do(func() { fonts, fontsErr = pdf.LoadFonts() })
	if fontsErr != nil {
		tb.Fatalf("fonts: %v (install fonts-lxgw-wenkai fonts-hanazono)", fontsErr)
	}
	return fonts
}

// testSealer creates keys once per test binary.
func testSealer(tb testing.TB) *pdf.Sealer {
	tb.Helper()
	sealOnce.Do(func() {
		sealDir = filepath.Join(tmpRoot, "keys")
		if sealErr = pdf.InitKeys(sealDir, "沂源县政务服务中心"); sealErr != nil {
			return
		}
		sealer, sealErr = pdf.LoadSealer(sealDir)
	})
	if sealErr != nil {
		tb.Fatal(sealErr)
	}
	return sealer
}

// sealDirFor is the key directory testSealer made.
func sealDirFor(tb testing.TB) string {
	testSealer(tb)
	return sealDir
}

func testRenderer(tb testing.TB) *pdf.Renderer {
	tb.Helper()
	r, err := pdf.NewRenderer(loadFonts(tb), testCenter)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// signaturePNG draws a handwriting-like stroke on a white w×h canvas.
func signaturePNG(seed float64, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	ink := color.RGBA{20, 30, 90, 255}
	fw, fh := float64(w), float64(h)
	for t := 0.0; t < 1; t += 0.0004 {
		x := fw*0.08 + fw*0.84*t
		y := fh/2 + fh*0.28*math.Sin(t*11+seed)*math.Cos(t*4+seed/2)
		for dx := -2; dx <= 2; dx++ {
			for dy := -2; dy <= 2; dy++ {
				img.Set(int(x)+dx, int(y)+dy, ink)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}
