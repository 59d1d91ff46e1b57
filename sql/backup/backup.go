// Package backup reports on the database's backups; it makes none. The
// backups are pgBackRest's (Debian "pgbackrest"): full and incremental
// backups in a repository (a directory, NFS or S3-compatible storage)
// and PostgreSQL's continuous WAL archiving into it, which together
// restore the database to any moment. This package answers the
// administrator's two questions — does archiving work, and when was the
// last good backup — from PostgreSQL's own archiver statistics
// (pg_stat_archiver, on the primary) and "pgbackrest info".
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxAge is how old the last good backup may be before it is a problem:
// a daily backup plus two hours' slack.
const MaxAge = 26 * time.Hour

// Config says where pgBackRest keeps this database's backups.
type Config struct {
	// Stanza is pgBackRest's name for the database (DAIBAN_PGBACKREST_STANZA);
	// empty means no backups are configured.
	Stanza string
	// ConfigFile is pgbackrest.conf (DAIBAN_PGBACKREST_CONFIG); empty
	// means pgBackRest's default, /etc/pgbackrest/pgbackrest.conf.
	ConfigFile string
	// Command is the pgbackrest program; empty means "pgbackrest" on PATH.
	Command string
}

// Status is one check.
type Status struct {
	CheckedAt  time.Time
	Configured bool // a stanza is named
	// Archiving, from pg_stat_archiver on the primary.
	ArchiveMode     string
	Archived        int64
	LastArchivedWAL string
	LastArchived    *time.Time
	Failed          int64
	LastFailedWAL   string
	LastFailed      *time.Time
	// The newest good backup in the repository.
	LastBackup      *time.Time // when it finished
	LastBackupLabel string
	LastBackupType  string // full, diff, incr
	Backups         int
	// Problems are what the administrator must fix, in Chinese; none
	// means archiving works and a good backup is at most MaxAge old.
	Problems []string
}

// OK reports whether there is nothing to fix.
func (s Status) OK() bool { return len(s.Problems) == 0 }

// ArchivingOK reports whether WAL archiving is on and its latest attempt
// succeeded.
func (s Status) ArchivingOK() bool {
	return s.ArchiveMode != "off" && s.ArchiveMode != "" && s.LastArchived != nil &&
		(s.LastFailed == nil || s.LastArchived.After(*s.LastFailed))
}

// Querier is a pool or a connection to the primary.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Check asks the database and pgBackRest; it never fails, the problems
// it finds are in the Status.
func Check(ctx context.Context, db Querier, cfg Config, now time.Time) Status {
	s := Status{CheckedAt: now, Configured: cfg.Stanza != ""}
	s.archiver(ctx, db)
	if !s.Configured {
		// Without a repository the archiver's state says nothing more.
		s.Problems = append(s.Problems[:0], "未配置数据库备份（没有设置 DAIBAN_PGBACKREST_STANZA）：数据库没有任何备份，机器损坏即丢失全部案件与台账。请按 docs/ops.md 配置 pgBackRest")
		return s
	}
	s.repository(ctx, cfg, now)
	return s
}

func (s *Status) archiver(ctx context.Context, db Querier) {
	err := db.QueryRow(ctx, `SELECT current_setting('archive_mode'), archived_count, coalesce(last_archived_wal, ''),
		last_archived_time, failed_count, coalesce(last_failed_wal, ''), last_failed_time FROM pg_stat_archiver`).
		Scan(&s.ArchiveMode, &s.Archived, &s.LastArchivedWAL, &s.LastArchived, &s.Failed, &s.LastFailedWAL, &s.LastFailed)
	switch {
	case err != nil:
		s.Problems = append(s.Problems, fmt.Sprintf("无法读取 WAL 归档状态（pg_stat_archiver）：%v", err))
	case s.ArchiveMode == "off":
		s.Problems = append(s.Problems, "WAL 连续归档未开启（archive_mode = off）：无法恢复到任意时间点")
	case s.LastFailed != nil && (s.LastArchived == nil || !s.LastArchived.After(*s.LastFailed)):
		s.Problems = append(s.Problems, fmt.Sprintf("WAL 归档失败：最近一次失败在 %s（WAL 段 %s，共失败 %d 次），请查看 PostgreSQL 日志中的 archive_command 输出",
			beijing(*s.LastFailed), s.LastFailedWAL, s.Failed))
	case s.LastArchived == nil:
		s.Problems = append(s.Problems, "尚未归档过任何 WAL 段：请确认 archive_command 已配置（pgbackrest archive-push）")
	}
}

// infoJSON is the part of "pgbackrest info --output=json" read here.
type infoJSON struct {
	Name   string `json:"name"`
	Status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	Backup []struct {
		Label     string `json:"label"`
		Type      string `json:"type"`
		Error     *bool  `json:"error"`
		Timestamp struct {
			Start int64 `json:"start"`
			Stop  int64 `json:"stop"`
		} `json:"timestamp"`
	} `json:"backup"`
}

func (s *Status) repository(ctx context.Context, cfg Config, now time.Time) {
	info, err := Info(ctx, cfg)
	if err != nil {
		s.Problems = append(s.Problems, err.Error())
		return
	}
	for _, b := range info.Backup {
		if b.Error != nil && *b.Error { // pages failed their checksums
			continue
		}
		s.Backups++
		stop := time.Unix(b.Timestamp.Stop, 0)
		if s.LastBackup == nil || stop.After(*s.LastBackup) {
			s.LastBackup, s.LastBackupLabel, s.LastBackupType = &stop, b.Label, b.Type
		}
	}
	switch {
	case s.LastBackup == nil:
		s.Problems = append(s.Problems, fmt.Sprintf("备份库中没有可用的备份（pgBackRest：%s）", info.Status.Message))
	case now.Sub(*s.LastBackup) > MaxAge:
		s.Problems = append(s.Problems, fmt.Sprintf("最近一次完好的备份在 %s，已超过 %d 小时没有备份", beijing(*s.LastBackup), int(MaxAge.Hours())))
	}
}

// Info runs "pgbackrest info" for the stanza.
func Info(ctx context.Context, cfg Config) (*infoJSON, error) {
	bin := cfg.Command
	if bin == "" {
		bin = "pgbackrest"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("未找到 pgbackrest 命令（apt-get install pgbackrest）：无法确认备份")
	}
	args := []string{"--stanza=" + cfg.Stanza, "--output=json", "--log-level-console=error", "--log-level-file=off"}
	if cfg.ConfigFile != "" {
		args = append(args, "--config="+cfg.ConfigFile)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, append(args, "info")...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pgbackrest info 失败（%v）：%s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var infos []infoJSON
	if err := json.Unmarshal(out, &infos); err != nil || len(infos) != 1 {
		return nil, fmt.Errorf("pgbackrest info 的输出无法解析：%v", err)
	}
	if infos[0].Status.Code != 0 && infos[0].Status.Code != 2 { // 2: no valid backups (reported below)
		return nil, fmt.Errorf("pgBackRest 备份库（stanza %s）有问题：%s", cfg.Stanza, infos[0].Status.Message)
	}
	sort.SliceStable(infos[0].Backup, func(i, j int) bool { return infos[0].Backup[i].Timestamp.Stop < infos[0].Backup[j].Timestamp.Stop })
	return &infos[0], nil
}

var shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

// beijing formats t as the administrator reads it.
func beijing(t time.Time) string {
	return t.In(shanghai).Format("2006-01-02 15:04:05") + "（北京时间）"
}

// Monitor caches the status for the dashboard: pgbackrest info reads
// the repository, too slow for every page view.
type Monitor struct {
	DB  Querier
	Cfg Config
	TTL time.Duration // default 5 minutes

	mu   sync.Mutex
	last *Status
}

// Status returns the cached status, checking again when it is older
// than TTL.
func (m *Monitor) Status(ctx context.Context) Status {
	if m == nil {
		return Status{}
	}
	ttl := m.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.last == nil || now.Sub(m.last.CheckedAt) > ttl {
		s := Check(ctx, m.DB, m.Cfg, now)
		if errors.Is(ctx.Err(), context.Canceled) {
			return s // a cancelled request: do not keep its half answer
		}
		m.last = &s
	}
	return *m.last
}

// Register exposes the status on /metrics: the newest good backup's end
// (Unix seconds, 0 when there is none) and the number of problems, so a
// monitoring system can alert on either. A second Register on the same
// registry (another service in the same process) keeps the first.
func (m *Monitor) Register(reg prometheus.Registerer) error {
	status := func() Status {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return m.Status(ctx)
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "daiban_backup_last_good_timestamp_seconds",
			Help: "End of the newest good pgBackRest backup (Unix seconds; 0: none)."}, func() float64 {
			if s := status(); s.LastBackup != nil {
				return float64(s.LastBackup.Unix())
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "daiban_backup_problems",
			Help: "Problems daiban backup check reports (0: WAL archiving works and a good backup is at most 26 h old)."}, func() float64 {
			return float64(len(status().Problems))
		}),
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}
