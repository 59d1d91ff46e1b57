package pgserver

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// URL returns the pgx connection URL for the database (unix socket,
// superuser "daiban").
func (s *Server) URL() string { return s.URLFor(s.database) }

// URLFor returns the connection URL for another database of the same server.
func (s *Server) URLFor(db string) string { return socketURL(s.sockDir, db) }

func socketURL(sockDir, db string) string {
	return "postgres://" + Superuser + "@/" + uriEscape(db, false) +
		"?host=" + uriEscape(sockDir, true) + "&port=" + strconv.Itoa(port) + "&sslmode=disable"
}

// RunningURL returns the connection URL for database db (default "daiban")
// of a server that some process, e.g. another "daiban serve", runs on
// dataDir and that has reported itself ready; ok is false otherwise. It
// reads the server's postmaster.pid, which names the socket directory
// (that may be a temporary one, see Start). Callers should still expect the
// connection to fail: the server may be stopping.
func RunningURL(dataDir, db string) (url string, ok bool) {
	if db == "" {
		db = "daiban"
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false
	}
	pgDir := filepath.Join(dataDir, "pg")
	b, err := os.ReadFile(filepath.Join(pgDir, "postmaster.pid"))
	if err != nil {
		return "", false
	}
	// Lines: pid, data dir, start time, port, socket dir, listen address,
	// shared memory key, status.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 8 || strings.TrimSpace(lines[7]) != "ready" || strings.TrimSpace(lines[4]) == "" {
		return "", false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return "", false
	}
	if realPgDir, err := filepath.EvalSymlinks(pgDir); err != nil || postmasterState(pid, realPgDir) == stateGone {
		return "", false
	}
	return socketURL(strings.TrimSpace(lines[4]), db), true
}

// uriEscape percent-encodes every byte outside the unreserved set (and '/'
// when keepSlash). Connection URIs are decoded the libpq way, where '+' is
// not a space, so url.QueryEscape would be wrong.
func uriEscape(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/' && keepSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
