package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/daiban/daiban/sql/backup"
)

// newBackups watches the database's backups for the supervisor's
// dashboard and /metrics.
func newBackups(o Options, reg prometheus.Registerer) *backup.Monitor {
	m := &backup.Monitor{DB: o.Pool, Cfg: o.Backup}
	if err := m.Register(reg); err != nil && o.Logger != nil {
		o.Logger.Warn("备份状态指标未能注册", "err", err.Error())
	}
	return m
}
