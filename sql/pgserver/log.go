package pgserver

import (
	"io"
	"os"
	"strings"
)

func rotateLog(path string) {
	if fileSize(path) > logRotateSize {
		_ = os.Rename(path, path+".1")
	}
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logTail returns the last n non-empty lines written to the log after
// offset from, joined into one line.
func logTail(path string, from int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 8 << 10
	if size := fileSize(path); size-from > maxRead {
		from = size - maxRead
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, maxRead))
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
