package pdf

import (
	"context"
	"time"

	"github.com/digitorus/timestamp"
)

// NewNaiveRenderer returns a renderer that, like a straightforward gofpdf
// program, embeds and parses the whole font files for every document. It
// exists for the benchmark's comparison only.
func NewNaiveRenderer(f *Fonts, center Center) (*Renderer, error) {
	r, err := NewRenderer(f, center)
	if err != nil {
		return nil, err
	}
	r.naive = true
	return r, nil
}

// TraceRuns installs a hook called for every run of text printed: the face
// (font file base name) and the characters of the run.
func (r *Renderer) TraceRuns(fn func(face, text string)) { r.runHook = fn }

// Width returns the width of s in mm at size pt, as the layout measures it.
func (f *Fonts) Width(s string, size float64) (float64, error) {
	w, err := f.measure(s)
	return float64(w) * size / 1000 * ptMM, err
}

// Wrap breaks s into lines at most maxW mm wide at size pt.
func (f *Fonts) Wrap(s string, maxW, size float64) ([]string, error) {
	return f.wrap(s, int(maxW/(size*ptMM)*1000))
}

// SetDefaultFontDirs replaces the Debian font directories LoadFonts
// searches and returns a function restoring them.
func SetDefaultFontDirs(dirs []string) func() {
	old := defaultFontDirs
	defaultFontDirs = dirs
	return func() { defaultFontDirs = old }
}

// FaceOf returns the file base name of the face that prints r ("" if none).
func (f *Fonts) FaceOf(r rune) string {
	g, ok := f.lookup(r)
	if !ok {
		return ""
	}
	return f.faces[g.face].name
}

// TimeTSA wraps the sealer's TSA so that the time spent in it is added to
// *spent (the benchmark prints the TSA's share of a seal).
func (s *Sealer) TimeTSA(spent *time.Duration) {
	s.tsa = timedTSA{TSA: s.tsa, spent: spent}
}

type timedTSA struct {
	TSA
	spent *time.Duration
}

func (t timedTSA) Stamp(ctx context.Context, digest []byte) (*timestamp.Timestamp, error) {
	t0 := time.Now()
	defer func() { *t.spent += time.Since(t0) }()
	return t.TSA.Stamp(ctx, digest)
}
