package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// waitOldPostmaster looks at a postmaster.pid left in the cluster. If the
// process is gone, or the pid now belongs to an unrelated process, the
// stale lock files are removed so postgres can start. If a postmaster is
// still running on this cluster, it waits a little for it to exit (it may
// be shutting down after its parent was killed) and otherwise fails.
func (s *Server) waitOldPostmaster(ctx context.Context) error {
	pidFile := filepath.Join(s.pgDir, "postmaster.pid")
	realPgDir, err := filepath.EvalSymlinks(s.pgDir)
	if err != nil {
		return nil // no cluster yet
	}
	deadline := time.Now().Add(oldPostmasterWait)
	logged := false
	for {
		pid, err := readPidFile(pidFile)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		state := stateUnknown
		if err == nil {
			state = postmasterState(pid, realPgDir)
		} else {
			state = stateGone // empty or garbled: not a live server's lock file
		}
		if state == stateUnknown {
			break // cannot tell; postgres's own interlocks decide
		}
		if state == stateGone {
			if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("无法删除残留的 PostgreSQL 锁文件 %s：%v", pidFile, err)
			}
			s.log.Info("已清理上次运行残留的 PostgreSQL 锁文件", "file", pidFile, "old_pid", pid)
			break
		}
		if !logged {
			s.log.Info("等待之前的 PostgreSQL 进程退出", "pid", pid, "data_dir", s.pgDir)
			logged = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("数据目录 %s 正被另一个正在运行的 PostgreSQL 进程（PID %d）使用：请先停止它（或停止使用同一数据目录的另一个 daiban）", s.pgDir, pid)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("数据目录 %s 正被另一个正在运行的 PostgreSQL 进程（PID %d）使用：%w", s.pgDir, pid, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// No postmaster runs on this cluster now, so socket lock files in our
	// private socket directory are stale (a reused pid would keep postgres
	// from starting).
	if !s.tmpSock {
		for _, name := range []string{".s.PGSQL.5432", ".s.PGSQL.5432.lock"} {
			_ = os.Remove(filepath.Join(s.sockDir, name))
		}
	}
	return nil
}

type pmState int

const (
	stateUnknown pmState = iota
	stateGone
	stateRunning
)

// postmasterState tells whether pid is a live process whose working
// directory is the cluster (a postmaster chdirs into its data directory).
func postmasterState(pid int, realPgDir string) pmState {
	if pid <= 0 {
		return stateGone
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return stateGone
	}
	if _, err := os.Stat("/proc/self/cwd"); err != nil {
		return stateUnknown // no procfs
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	switch {
	case err == nil && cwd == realPgDir:
		return stateRunning
	case err == nil:
		return stateGone // pid reused by an unrelated process
	case errors.Is(err, fs.ErrNotExist):
		return stateGone // exited, or a zombie
	default:
		return stateUnknown // e.g. another user's process
	}
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("bad pid file %s: %w", path, err)
	}
	return pid, nil
}
