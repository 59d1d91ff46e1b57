package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// makeDataDir makes dir absolute and creates it if missing. Missing parents
// get ordinary permissions (the server account must be able to pass
// through them); the data directory itself is private.
func makeDataDir(dir string, ru runUser) (string, error) {
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
	}
	return dataDir, nil
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
	if s.tmpSock {
		return ru.chownTree(s.sockDir)
	}
	return nil // DataDir/run is chowned with the rest of DataDir
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
