package web

import (
	"fmt"
	"time"

	"github.com/daiban/daiban/sql/backup"
)

// backupView is the dashboard's backup card: what holds, and in red what
// the administrator must fix (no good backup within 26 hours, archiving
// failing, or no backups at all).
type backupView struct {
	OK       bool
	Lines    []string
	Problems []string
}

func newBackupView(s backup.Status) *backupView {
	v := &backupView{OK: s.OK(), Problems: s.Problems}
	bj := func(t time.Time) string { return t.In(beijingZone).Format("2006-01-02 15:04") }
	if s.LastBackup != nil {
		v.Lines = append(v.Lines, fmt.Sprintf("最近一次完好的备份：%s，完成于 %s（北京时间）。", s.LastBackupLabel, bj(*s.LastBackup)))
	} else if s.Configured {
		v.Lines = append(v.Lines, "备份库中还没有完好的备份。")
	}
	if s.ArchivingOK() {
		v.Lines = append(v.Lines, fmt.Sprintf("WAL 连续归档正常，最近一次归档于 %s。", bj(*s.LastArchived)))
	}
	v.Lines = append(v.Lines, fmt.Sprintf("检查于 %s；命令行 daiban backup check 可随时复查。", bj(s.CheckedAt)))
	return v
}

var beijingZone = time.FixedZone("CST", 8*3600)
