package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// makeDataDir makes dir absolute and creates it if missing. Missing parents
// get ordinary permissions (the server account must be able to pass
// through them); the data directory itself is private. As root it stays
// root's (see claimDataDir).
func makeDataDir(dir string, ru runUser, log *slog.Logger) (string, error) {
	dataDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("无效的数据目录 %s：%v", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return "", fmt.Errorf("无法创建数据目录 %s：%v", dataDir, err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("无法创建数据目录 %s：%v", dataDir, err)
	}
	realDataDir, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return "", fmt.Errorf("无法访问数据目录 %s：%v", dataDir, err)
	}
	if ru.switchTo {
		if err := ru.checkAncestors(realDataDir); err != nil {
			return "", err
		}
		if err := ru.claimDataDir(realDataDir, log); err != nil {
			return "", err
		}
	}
	return dataDir, nil
}

// dataDirMode is the data directory's mode when the server runs as another
// account: that account may pass through (to pg/ and run/) but may not
// list it, add to it, or rename what it holds (DAIBAN_KEYS by default).
const dataDirMode = 0o711

// claimDataDir keeps the data directory root's own. Before the server
// account was given the whole directory; a directory it still owns, or
// one it cannot pass through, is taken back and set to dataDirMode.
func (u runUser) claimDataDir(dir string, log *slog.Logger) error {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return fmt.Errorf("无法检查数据目录 %s：%v", dir, err)
	}
	if st.Uid != u.uid && st.Gid != u.gid && os.FileMode(st.Mode).Perm() == dataDirMode {
		return nil
	}
	if st.Uid == u.uid || st.Gid == u.gid {
		if err := os.Chown(dir, os.Geteuid(), os.Getegid()); err != nil {
			return fmt.Errorf("无法收回数据目录 %s 的所有权：%v", dir, err)
		}
		log.Info("数据目录已改回当前用户所有，PostgreSQL 运行用户只能进入其中属于它的子目录", "data_dir", dir, "was_owned_by", u.name)
	}
	if err := os.Chmod(dir, dataDirMode); err != nil {
		return fmt.Errorf("无法设置数据目录 %s 的权限：%v", dir, err)
	}
	return nil
}

// prepareSocketDir uses DataDir/run unless the socket path would be too
// long for the kernel, or holds a comma (connection strings cannot express
// it: a host list is split on commas); then it makes a private directory
// under os.TempDir.
func (s *Server) prepareSocketDir(ru runUser) error {
	const sockName = "/.s.PGSQL.5432"
	if len(s.sockDir)+len(sockName) > maxSocketPath || strings.Contains(s.sockDir, ",") {
		dir, err := os.MkdirTemp("", "daiban-pg-")
		if err != nil {
			return fmt.Errorf("无法创建 PostgreSQL 套接字目录：%v", err)
		}
		s.sockDir, s.tmpSock = dir, true
		if len(dir)+len(sockName) > maxSocketPath || strings.Contains(dir, ",") {
			return fmt.Errorf("PostgreSQL 套接字路径过长（%s）：请使用更短的数据目录或临时目录（TMPDIR）", dir+sockName)
		}
		if ru.switchTo {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				return fmt.Errorf("无法访问套接字目录 %s：%v", dir, err)
			}
			if err := ru.checkAncestors(real); err != nil {
				return err
			}
		}
	} else if err := os.MkdirAll(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("无法创建 PostgreSQL 套接字目录 %s：%v", s.sockDir, err)
	}
	// The directory is the only access control (trust authentication).
	if err := os.Chmod(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("无法设置套接字目录 %s 的权限：%v", s.sockDir, err)
	}
	return ru.chownTree(s.sockDir)
}

// chownOwn gives the server account the cluster and the log (the socket
// directory was given by prepareSocketDir). Nothing else in the data
// directory is touched: it may hold the keys (DAIBAN_KEYS's default),
// which the database's account must never read.
func (s *Server) chownOwn(ru runUser) error {
	if _, err := os.Lstat(s.pgDir); err == nil {
		if err := ru.chownTree(s.pgDir); err != nil {
			return err
		}
	}
	for _, f := range []string{s.logPath, s.logPath + ".1"} {
		if err := ru.chownFile(f); err != nil {
			return err
		}
	}
	return nil
}

// checkOwnership: without root we cannot fix ownership, so give a clear
// error instead of postgres's "data directory has wrong ownership".
func (s *Server) checkOwnership(ru runUser) error {
	if ru.switchTo {
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Stat(s.pgDir, &st); err != nil {
		return nil // not initialised yet
	}
	if st.Uid != ru.uid {
		return fmt.Errorf("PostgreSQL 数据目录 %s 属于另一个用户（uid %d），当前用户 %s 无法使用：请以该用户运行，或更换数据目录", s.pgDir, st.Uid, ru.name)
	}
	return nil
}
