package pgserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// initIfNeeded runs initdb unless the cluster exists. initdb writes into a
// side directory that is renamed into place only on success, so an
// interrupted first start never leaves a half-initialised cluster.
func (s *Server) initIfNeeded(ctx context.Context, ru runUser, ephemeral bool, logFile *os.File) error {
	if b, err := os.ReadFile(filepath.Join(s.pgDir, "PG_VERSION")); err == nil {
		have, want := strings.TrimSpace(string(b)), majorVersion(s.bins.Version)
		if have != want {
			return fmt.Errorf("数据目录 %s 由 PostgreSQL %s 创建，但当前安装的是 PostgreSQL %s（%s）：请安装 PostgreSQL %s，或用 pg_upgrade 升级数据目录", s.pgDir, have, s.bins.Version, s.bins.Postgres, have)
		}
		return nil
	}
	if _, err := os.Stat(s.pgDir); err == nil {
		return fmt.Errorf("数据目录 %s 已存在但不是 PostgreSQL 数据库集群（缺少 PG_VERSION）：请检查或删除该目录", s.pgDir)
	}

	tmp := s.pgDir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("无法清理 %s：%v", tmp, err)
	}
	// Made here, not by initdb: as root the data directory is not the
	// server account's to write in.
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("无法创建 %s：%v", tmp, err)
	}
	if err := ru.chownFile(tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	// Trust on the socket only: its directory is the access control (see
	// the package comment). TCP is refused even if a later start enabled
	// it (it never listens: listen_addresses is empty on the command line).
	args := []string{"-D", tmp, "-U", Superuser, "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--locale=C"}
	if majorAtLeast(s.bins.Version, 14) {
		args = append(args, "--no-instructions")
	}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	s.log.Info("正在初始化内置 PostgreSQL 数据目录", "data_dir", s.pgDir, "version", s.bins.Version, "run_as", ru.name)
	cmd := exec.CommandContext(ctx, s.bins.InitDB, args...)
	cmd.Dir = s.dataDir
	cmd.Env = childEnv()
	cmd.SysProcAttr = procAttr(ru.credential(), syscall.SIGKILL)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, logFile)
	cmd.Stderr = cmd.Stdout
	if err := runLocked(cmd); err != nil {
		_ = os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return fmt.Errorf("初始化 PostgreSQL 数据目录被中断：%w", ctx.Err())
		}
		return fmt.Errorf("初始化 PostgreSQL 数据目录失败（initdb：%v）：%s", err, lastLines(out.String(), 3))
	}
	if err := os.Rename(tmp, s.pgDir); err != nil {
		return fmt.Errorf("无法启用新建的数据目录 %s：%v", s.pgDir, err)
	}
	return nil
}

// runLocked runs cmd from a goroutine locked to its OS thread, so that
// thread, whose exit would trigger the child's parent-death signal, lives
// as long as the child.
func runLocked(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		errc <- cmd.Run()
	}()
	return <-errc
}
