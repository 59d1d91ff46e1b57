package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/daiban/daiban/policies/httpapi"
	"github.com/daiban/daiban/sql/backup"
)

// config is everything daiban reads from its environment. The README's
// configuration table lists the same variables.
type config struct {
	// TrustedProxies (DAIBAN_TRUSTED_PROXIES) are the reverse proxies
	// whose X-Forwarded-For gives the client address.
	TrustedProxies []netip.Prefix

	DatabaseURL string // DATABASE_URL: use this PostgreSQL instead of the embedded one
	Addr        string // DAIBAN_ADDR: HTTP listen address
	DataDir     string // DAIBAN_DATA: the embedded PostgreSQL's directory
	KeyDir      string // DAIBAN_KEYS: the seal and ledger keys (default DAIBAN_DATA/keys)
	LogLevel    slog.Level
	BaseURL     string   // DAIBAN_BASE_URL: public address printed in QR codes
	CenterName  string   // DAIBAN_CENTER_NAME: the issuing center on documents
	TSAURL      string   // DAIBAN_TSA_URL: RFC 3161 time-stamping service (else the local TSA)
	FontDirs    []string // DAIBAN_FONT_DIRS: extra font directories (colon-separated)

	// AppDatabaseURL (DAIBAN_APP_DATABASE_URL) is the server's own login
	// on DATABASE_URL's PostgreSQL: a role granted daiban_app and nothing
	// else. Unset, the server logs in as DATABASE_URL's user.
	AppDatabaseURL string
	// DAIBAN_METRICS_ALLOW: addresses besides the loopback that may read /metrics
	MetricsAllow []netip.Prefix

	// Backup is where pgBackRest keeps the database's backups
	// (DAIBAN_PGBACKREST_STANZA, DAIBAN_PGBACKREST_CONFIG).
	Backup backup.Config
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		Addr:        envOr("DAIBAN_ADDR", "127.0.0.1:8080"),
		DataDir:     envOr("DAIBAN_DATA", "./daiban-data"),
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return c, fmt.Errorf("DAIBAN_DATA: %w", err)
	}
	c.DataDir = abs
	c.AppDatabaseURL = os.Getenv("DAIBAN_APP_DATABASE_URL")
	c.Backup = backup.Config{Stanza: os.Getenv("DAIBAN_PGBACKREST_STANZA"), ConfigFile: os.Getenv("DAIBAN_PGBACKREST_CONFIG")}
	c.KeyDir = envOr("DAIBAN_KEYS", filepath.Join(c.DataDir, "keys"))
	c.BaseURL = strings.TrimRight(envOr("DAIBAN_BASE_URL", "http://"+c.Addr), "/")
	c.CenterName = os.Getenv("DAIBAN_CENTER_NAME")
	c.TSAURL = os.Getenv("DAIBAN_TSA_URL")
	if v := os.Getenv("DAIBAN_FONT_DIRS"); v != "" {
		c.FontDirs = filepath.SplitList(v)
	}
	if c.MetricsAllow, err = httpapi.ParseAllowList(os.Getenv("DAIBAN_METRICS_ALLOW")); err != nil {
		return c, fmt.Errorf("DAIBAN_METRICS_ALLOW: %w", err)
	}
	switch strings.ToLower(envOr("DAIBAN_LOG_LEVEL", "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return c, fmt.Errorf("DAIBAN_LOG_LEVEL 应为 debug、info、warn 或 error")
	}
	c.TrustedProxies, err = httpapi.ParseTrustedProxies(os.Getenv("DAIBAN_TRUSTED_PROXIES"))
	return c, err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (c config) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}

// quietLogger is for the one-shot commands: their output is the answer, so
// only warnings and errors are logged.
func (c config) quietLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: max(c.LogLevel, slog.LevelWarn)}))
}

// origin names the ledger in its signed checkpoints.
const origin = "daiban.370323"
