package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/ledger"
)

// Files of DAIBAN_KEYS that only "daiban keys" uses or that serve checks
// for by name.
const (
	sealKeyFile = "seal.key"
	rootKeyFile = "root.key" // the root CA's key: "daiban keys" only, keep it offline
)

// sealKeysExist reports whether the center's seal keys are in dir.
func sealKeysExist(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, sealKeyFile))
	return err == nil
}

// centerName names the certificates when --center is not given: the
// center the documents are issued by (DAIBAN_CENTER_NAME, else the demo
// county's), as PDF readers will show it beside the seal.
func (c config) centerName() string {
	if c.CenterName != "" {
		return c.CenterName
	}
	return app.DefaultCenter.Name
}

func cmdKeys(ctx context.Context, cfg config, args []string) error {
	if len(args) > 0 && args[0] == "rotate-pii" {
		return cmdKeysRotatePII(ctx, cfg, args[1:])
	}
	if len(args) == 0 || args[0] != "init" {
		return errors.New("用法: daiban keys init [--center NAME] [--if-missing]")
	}
	fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
	center := fs.String("center", cfg.centerName(), "证书中的中心名称（PDF 阅读器显示为签章人；默认取 DAIBAN_CENTER_NAME）")
	ifMissing := fs.Bool("if-missing", false, "密钥已存在时不做任何改动（供 ./dev run 等脚本使用）")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *ifMissing && sealKeysExist(cfg.KeyDir) {
		fmt.Printf("密钥目录 %s 中已有电子签章密钥，未做改动。\n", cfg.KeyDir)
		return nil
	}
	if err := pdf.InitKeys(cfg.KeyDir, *center); err != nil {
		return err
	}
	if _, err := ledger.LoadOrCreateKey(cfg.KeyDir, origin); err != nil {
		return err
	}
	fmt.Printf(`已在 %s 生成中心根证书、电子签章证书和台账签名密钥（目录权限 0700，私钥 0600）。
daiban serve 只需要 seal.key、seal.pem、root.pem 和 ledger.key。
根证书私钥 %s 只在签发新的签章证书时使用：请立即把它移到离线介质（如加密 U 盘）保存，并从服务器上删除。
`, cfg.KeyDir, filepath.Join(cfg.KeyDir, rootKeyFile))
	return nil
}

// serveKeys readies DAIBAN_KEYS for serve: ownership taken back (as root)
// from whoever an older version gave it to, the seal keys present — serve
// never makes them, "daiban keys init" does — and a warning when the root
// CA's key is still online.
func serveKeys(dir string, logger *slog.Logger) error {
	if err := reclaimKeyDir(dir, logger); err != nil {
		return err
	}
	if !sealKeysExist(dir) {
		return fmt.Errorf("未找到电子签章密钥（目录 %s）：请先运行 `daiban keys init` 生成中心根证书、电子签章证书和台账签名密钥，再启动服务", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, rootKeyFile)); err == nil {
		logger.Warn("根证书私钥仍在服务器上：daiban serve 不需要它，请移到离线介质保存", "file", filepath.Join(dir, rootKeyFile))
	}
	return nil
}

// reclaimKeyDir, run as root, gives every entry of dir that another
// account owns back to root with no group or other permissions, and makes
// dir itself 0700. Older versions let the embedded PostgreSQL's setup
// chown DAIBAN_DATA — DAIBAN_KEYS's default home — to the database's
// account, whose superuser could then read the keys with pg_read_file.
// Without root nothing can be given back; the loaders refuse key files
// that others may read.
func reclaimKeyDir(dir string, logger *slog.Logger) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	uid, gid := os.Geteuid(), os.Getegid()
	var fixed []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok || (int(st.Uid) == uid && int(st.Gid) == gid) {
			return nil
		}
		if err := os.Lchown(path, uid, gid); err != nil {
			return err
		}
		if info.Mode().IsRegular() || info.IsDir() {
			if err := os.Chmod(path, info.Mode().Perm()&^0o077); err != nil {
				return err
			}
		}
		fixed = append(fixed, path)
		return nil
	})
	if err == nil {
		err = os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("无法收回密钥目录 %s 的所有权：%w", dir, err)
	}
	if len(fixed) > 0 {
		logger.Warn("密钥目录中的文件曾属于其他用户（旧版本把它们交给了数据库的运行用户），已改回当前用户所有，目录权限 0700、文件权限 0600",
			"dir", dir, "fixed", fixed)
	}
	return nil
}
