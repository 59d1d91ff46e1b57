package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// runUser is the account initdb and postgres run as.
type runUser struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32 // supplementary groups
	// switchTo is true when we are root and must drop to this account
	// (PostgreSQL refuses to run as root).
	switchTo bool
}

// currentRunUser picks the account for the server: the current user, or when
// we are root the "postgres" system user if it exists, else "nobody".
func currentRunUser() (runUser, error) {
	if os.Geteuid() != 0 {
		name := strconv.Itoa(os.Geteuid())
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		return runUser{name: name, uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}, nil
	}
	var lastErr error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			lastErr = err
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			lastErr = fmt.Errorf("unusable account %q", name)
			continue
		}
		ru := runUser{name: name, uid: uint32(uid), gid: uint32(gid), switchTo: true}
		if ids, err := u.GroupIds(); err == nil {
			for _, s := range ids {
				if g, err := strconv.ParseUint(s, 10, 32); err == nil && uint32(g) != ru.gid {
					ru.groups = append(ru.groups, uint32(g))
				}
			}
		}
		return ru, nil
	}
	return runUser{}, fmt.Errorf("以 root 运行时需要一个普通系统用户来运行 PostgreSQL（postgres 或 nobody），但都不可用：%v", lastErr)
}

// credential returns the credential for child processes, or nil when no
// switch is needed.
func (u runUser) credential() *syscall.Credential {
	if !u.switchTo {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// canTraverse reports whether the account may search (x permission) a
// directory with the given stat. ACLs are not considered.
func (u runUser) canTraverse(st *syscall.Stat_t) bool {
	mode := st.Mode
	switch {
	case u.uid == 0:
		return true
	case st.Uid == u.uid:
		return mode&0o100 != 0
	case st.Gid == u.gid || slices.Contains(u.groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// checkAncestors makes sure the account can reach dir: every ancestor of
// dir (a resolved, absolute path) must be traversable. System directories
// are never changed; the error names the first one that is not.
func (u runUser) checkAncestors(dir string) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return fmt.Errorf("无法检查目录 %s：%v", p, err)
		}
		if !u.canTraverse(&st) {
			return fmt.Errorf("PostgreSQL 运行用户 %s 无法进入目录 %s（缺少 x 权限）：请把数据目录放到该用户可访问的位置，或给该目录加上权限（例如 chmod o+x %s）", u.name, p, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// chownTree gives root (and everything below it, symlinks not followed) to
// the account. Entries that already belong to it are left alone.
func (u runUser) chownTree(root string) error {
	if !u.switchTo {
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking (e.g. a temp file of a dying server)
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
			return nil
		}
		if err := os.Lchown(path, int(u.uid), int(u.gid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("无法把 %s 的所有者改为 %s：%w", path, u.name, err)
		}
		return nil
	})
}

// chownFile gives one file (not followed if a symlink) to the account; a
// missing file is no error.
func (u runUser) chownFile(path string) error {
	if !u.switchTo {
		return nil
	}
	if err := os.Lchown(path, int(u.uid), int(u.gid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("无法把 %s 的所有者改为 %s：%w", path, u.name, err)
	}
	return nil
}
