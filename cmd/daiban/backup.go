package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/daiban/daiban/sql/backup"
)

func cmdBackup(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return errors.New("用法: daiban backup check")
	}
	fs := flag.NewFlagSet("backup check", flag.ContinueOnError)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	s := backup.Check(ctx, db.Pool, cfg.Backup, time.Now())
	printBackupStatus(os.Stdout, cfg.Backup, s)
	if !s.OK() {
		return errBackupProblems
	}
	return nil
}

// errBackupProblems makes "backup check" exit 1 after its report.
var errBackupProblems = errors.New("备份检查未通过（见上）")

// printBackupStatus writes the check as an administrator reads it.
func printBackupStatus(w io.Writer, cfg backup.Config, s backup.Status) {
	stanza := cfg.Stanza
	if stanza == "" {
		stanza = "未配置"
	}
	fmt.Fprintf(w, "数据库备份检查（pgBackRest stanza：%s）\n", stanza)
	switch {
	case s.ArchivingOK():
		fmt.Fprintf(w, "WAL 归档：正常，最近归档 %s（%s），累计 %d 个，失败 %d 次\n", s.LastArchivedWAL, beijingTime(*s.LastArchived), s.Archived, s.Failed)
	default:
		fmt.Fprintf(w, "WAL 归档：不正常（archive_mode=%s，累计归档 %d 个，失败 %d 次）\n", s.ArchiveMode, s.Archived, s.Failed)
	}
	if s.LastBackup != nil {
		age := time.Since(*s.LastBackup)
		fmt.Fprintf(w, "最近一次完好的备份：%s（%s），完成于 %s，距今 %d 小时 %d 分；备份库中共 %d 个备份\n",
			s.LastBackupLabel, s.LastBackupType, beijingTime(*s.LastBackup), int(age.Hours()), int(age.Minutes())%60, s.Backups)
	} else {
		fmt.Fprintln(w, "最近一次完好的备份：无")
	}
	if s.OK() {
		fmt.Fprintln(w, "结论：正常")
		return
	}
	for _, p := range s.Problems {
		fmt.Fprintln(w, "问题："+p)
	}
}

func beijingTime(t time.Time) string {
	return t.In(time.FixedZone("北京时间", 8*3600)).Format("2006-01-02 15:04:05") + " 北京时间"
}

// warnBackups logs, once at start, what is wrong with the backups — on
// the embedded default, that there are none. It runs beside the server:
// pgbackrest info may take a while.
func warnBackups(ctx context.Context, cfg config, db backup.Querier, logger *slog.Logger) {
	go func() {
		s := backup.Check(ctx, db, cfg.Backup, time.Now())
		for _, p := range s.Problems {
			logger.Warn("数据库备份："+p, "stanza", cfg.Backup.Stanza)
		}
		if s.OK() {
			logger.Info("数据库备份正常", "stanza", cfg.Backup.Stanza, "last_backup", s.LastBackupLabel, "last_archived_wal", s.LastArchivedWAL)
		}
	}()
}
