package pdf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/daiban/daiban"
)

// rasterTimeout bounds one pdftoppm run: a stuck or slow converter gives
// its rendering slot back rather than holding it.
const rasterTimeout = 30 * time.Second

// Images renders the pages of a PDF (at most max of them) as grayscale PNG
// images at dpi dots per inch, so a screen can show the very document that
// will be sealed. It uses poppler's pdftoppm (poppler-utils, installed by
// ./dev setup) under the renderer's pool, like any other document work,
// and gives up after rasterTimeout.
func (r *Renderer) Images(ctx context.Context, doc []byte, dpi, max int) ([][]byte, error) {
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		return nil, daiban.Errorf(daiban.EUNAVAILABLE, "文书预览暂不可用：服务器缺少文书转图片组件，请联系管理员")
	}
	if dpi < 36 || dpi > 600 || max < 1 {
		return nil, fmt.Errorf("images: dpi %d, max %d out of range", dpi, max)
	}
	var out [][]byte
	var rerr error
	if err := r.Do(ctx, func() { out, rerr = rasterize(ctx, bin, doc, dpi, max) }); err != nil {
		return nil, err
	}
	return out, rerr
}

// rasterize runs pdftoppm on doc (from stdin) into a private temporary
// directory, removed afterwards: the images hold personal data.
func rasterize(ctx context.Context, bin string, doc []byte, dpi, max int) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, rasterTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "daiban-pages-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, bin, "-png", "-gray", "-r", strconv.Itoa(dpi), "-f", "1", "-l", strconv.Itoa(max), "-", filepath.Join(dir, "p"))
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, daiban.Errorf(daiban.EUNAVAILABLE, "文书预览生成超时，请稍后刷新页面")
		}
		return nil, fmt.Errorf("pdftoppm: %w: %.200s", err, stderr.String())
	}
	// pdftoppm pads page numbers to one width per run: p-1.png … p-9.png or
	// p-01.png … p-12.png, so the names sort in page order.
	names, err := filepath.Glob(filepath.Join(dir, "p-*.png"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("pdftoppm: no pages: %.200s", stderr.String())
	}
	sort.Strings(names)
	pages := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		pages = append(pages, b)
	}
	return pages, nil
}
