//go:build unix

package pdf

import (
	"os"
	"syscall"
)

// readFontFile maps a font file read-only. The mapping lives as long as the
// process (fonts are loaded once), is shared with the page cache and other
// processes, and does not count toward the Go heap.
func readFontFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size <= 0 || size > 1<<30 {
		return os.ReadFile(path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return os.ReadFile(path)
	}
	return data, nil
}
