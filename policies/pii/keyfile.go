package pii

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeyFile is the key file's name in DAIBAN_KEYS.
const KeyFile = "pii.key"

// refreshEvery is how often a loaded Keys looks at its file for a new
// version.
const refreshEvery = time.Second

const fileHeader = "# daiban 个人信息密钥（身份证号码、电话号码加密）：每行「版本 密钥(base64)」，最新版本加密，各版本均可解密。\n" +
	"# 丢失此文件即无法读取已加密的号码：请与数据库备份分开备份。\n"

// LoadOrCreate reads dir/pii.key, creating it (one fresh version, mode
// 0600) when it does not exist. Several processes starting together keep
// the one key that was written first.
func LoadOrCreate(dir string) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("无法创建密钥目录 %s: %w", dir, err)
	}
	path := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		secret := make([]byte, keyLen)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		if err := writeFile(dir, path, map[uint32][]byte{1: secret}, false); err != nil {
			return nil, err
		}
	}
	return Load(dir)
}

// Load reads dir/pii.key; it must exist.
func Load(dir string) (*Keys, error) {
	k := &Keys{path: filepath.Join(dir, KeyFile)}
	if err := k.reload(false); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a new key version to dir/pii.key and returns it; from then
// on (within a second for running servers reading the same file) new
// values are sealed under it. Re-sealing the rows is the caller's part.
func Rotate(dir string) (uint32, error) {
	path := filepath.Join(dir, KeyFile)
	secrets, err := readFile(path)
	if err != nil {
		return 0, err
	}
	next := slices.Max(versionsOf(secrets)) + 1
	secret := make([]byte, keyLen)
	if _, err := rand.Read(secret); err != nil {
		return 0, err
	}
	secrets[next] = secret
	return next, writeFile(dir, path, secrets, true)
}

// Retire removes every version but the current one from dir/pii.key; call
// it only when no row is sealed under an older version (and no backup you
// still need to read is).
func Retire(dir string) ([]uint32, error) {
	path := filepath.Join(dir, KeyFile)
	secrets, err := readFile(path)
	if err != nil {
		return nil, err
	}
	vs := versionsOf(secrets)
	cur := slices.Max(vs)
	var gone []uint32
	for _, n := range vs {
		if n != cur {
			delete(secrets, n)
			gone = append(gone, n)
		}
	}
	return gone, writeFile(dir, path, secrets, true)
}

func versionsOf(secrets map[uint32][]byte) []uint32 {
	vs := make([]uint32, 0, len(secrets))
	for n := range secrets {
		vs = append(vs, n)
	}
	slices.Sort(vs)
	return vs
}

// refresh rereads the key file when it changed, looking at most once a
// second.
func (k *Keys) refresh() {
	if k.path == "" {
		return
	}
	k.mu.RLock()
	due := time.Since(k.checked) >= refreshEvery
	k.mu.RUnlock()
	if due {
		k.reload(false)
	}
}

// reload reads the key file if it changed since it was read (or always,
// with force). A file that cannot be read keeps the keys loaded before,
// except on the first load.
func (k *Keys) reload(force bool) error {
	fi, err := os.Stat(k.path)
	k.mu.Lock()
	k.checked = time.Now()
	unchanged := err == nil && fi.ModTime().Equal(k.modTime) && k.current != nil
	k.mu.Unlock()
	if unchanged && !force {
		return nil
	}
	if err != nil {
		return fmt.Errorf("无法读取个人信息密钥 %s: %w", k.path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("个人信息密钥 %s 的权限过宽（%04o），应为 0600", k.path, fi.Mode().Perm())
	}
	secrets, err := readFile(k.path)
	if err != nil {
		return err
	}
	if err := k.set(secrets); err != nil {
		return err
	}
	k.mu.Lock()
	k.modTime = fi.ModTime()
	k.mu.Unlock()
	return nil
}

func readFile(path string) (map[uint32][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取个人信息密钥 %s: %w", path, err)
	}
	secrets := map[uint32][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		vs, ks, ok := strings.Cut(s, " ")
		n, err := strconv.ParseUint(vs, 10, 32)
		if !ok || err != nil || n == 0 {
			return nil, fmt.Errorf("个人信息密钥 %s 第 %d 行格式错误：应为「版本 密钥」", path, line)
		}
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ks))
		if err != nil || len(secret) != keyLen {
			return nil, fmt.Errorf("个人信息密钥 %s 第 %d 行的密钥无效：应为 %d 字节的 base64", path, line, keyLen)
		}
		if _, dup := secrets[uint32(n)]; dup {
			return nil, fmt.Errorf("个人信息密钥 %s 第 %d 行：版本 %d 重复", path, line, n)
		}
		secrets[uint32(n)] = secret
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("个人信息密钥 %s 中没有密钥", path)
	}
	return secrets, nil
}

// writeFile writes secrets to a private temporary file and moves it into
// place: replacing the file (a rotation), or linking it only if no file
// exists yet (a first start; a concurrent winner's key is kept).
func writeFile(dir, path string, secrets map[uint32][]byte, replace bool) error {
	var b strings.Builder
	b.WriteString(fileHeader)
	for _, n := range versionsOf(secrets) {
		fmt.Fprintf(&b, "%d %s\n", n, base64.StdEncoding.EncodeToString(secrets[n]))
	}
	tmp, err := os.CreateTemp(dir, ".pii-*.key")
	if err != nil {
		return fmt.Errorf("无法写入个人信息密钥: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("无法写入个人信息密钥: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp.Name(), path)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("无法写入个人信息密钥 %s: %w", path, err)
	}
	return nil
}
