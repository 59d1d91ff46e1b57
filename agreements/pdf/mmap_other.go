//go:build !unix

package pdf

import "os"

// readFontFile reads a font file into memory.
func readFontFile(path string) ([]byte, error) { return os.ReadFile(path) }
