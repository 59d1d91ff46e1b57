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
	"time"

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
	if len(args) > 0 && args[0] == "rotate" {
		return cmdKeysRotate(cfg, args[1:])
	}
	if len(args) > 0 && args[0] == "revoke" {
		return cmdKeysRevoke(cfg, args[1:])
	}
	if len(args) == 0 || args[0] != "init" {
		return errors.New("用法: daiban keys init [--center NAME] [--if-missing] | keys rotate | keys revoke --serial S --reason R | keys rotate-pii")
	}
	fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
	center := fs.String("center", cfg.centerName(), "证书中的中心名称（PDF 阅读器显示为签章人；默认取 DAIBAN_CENTER_NAME）")
	ifMissing := fs.Bool("if-missing", false, "密钥已存在时不做任何改动（供 ./dev run 等脚本使用）")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	opts := pdf.KeyOptions{Center: *center, CRLURL: cfg.crlURL()}
	if *ifMissing && sealKeysExist(cfg.KeyDir) {
		return completeKeys(cfg.KeyDir, opts)
	}
	if err := pdf.InitKeysWith(cfg.KeyDir, opts); err != nil {
		return err
	}
	if _, err := ledger.LoadOrCreateKey(cfg.KeyDir, origin); err != nil {
		return err
	}
	fmt.Printf(`已在 %s 生成中心根证书、电子签章证书和台账签名密钥（目录权限 0700，私钥 0600）。
还生成了本中心的本地时间戳服务证书（tsa.pem、tsa.key，未设置 DAIBAN_TSA_URL 时使用）和根证书吊销列表 root.crl（公布于 /pki/root.crl）。
daiban serve 需要 seal.key、seal.pem、root.pem、root.crl、tsa.key、tsa.pem 和 ledger.key。
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

// crlURL is where the certificates say the root's CRL is published.
func (c config) crlURL() string { return c.BaseURL + "/pki/root.crl" }

// completeKeys adds to an existing key directory what older versions did
// not make (the local TSA, the root's CRL).
func completeKeys(dir string, o pdf.KeyOptions) error {
	added, err := pdf.CompleteKeys(dir, o)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Printf("密钥目录 %s 中已有电子签章密钥、本地时间戳服务证书和有效的吊销列表，未做改动。\n", dir)
		return nil
	}
	fmt.Printf("密钥目录 %s 中已有电子签章密钥；已补齐: %v\n", dir, added)
	return nil
}

func cmdKeysRotate(cfg config, args []string) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	center := fs.String("center", cfg.centerName(), "新证书中的中心名称")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	oldSerial, newSerial, err := pdf.RotateSeal(cfg.KeyDir, pdf.KeyOptions{Center: *center, CRLURL: cfg.crlURL()})
	if err != nil {
		return err
	}
	fmt.Printf(`已签发新的电子签章证书（序列号 %s），旧证书（序列号 %s）保存为 seal-%s.pem，旧私钥已删除。
此前盖章的文书仍然有效、可以核验。请重启所有 daiban serve 实例以启用新密钥。
若旧密钥可能已泄露，请再运行: daiban keys revoke --serial %s --reason keyCompromise
`, newSerial, oldSerial, oldSerial, oldSerial)
	return nil
}

func cmdKeysRevoke(cfg config, args []string) error {
	fs := flag.NewFlagSet("keys revoke", flag.ContinueOnError)
	serial := fs.String("serial", "", "要吊销的证书序列号（十六进制，pdfsig/openssl 显示的形式）")
	reason := fs.String("reason", "", "吊销原因: keyCompromise | superseded | cessationOfOperation | affiliationChanged | unspecified")
	at := fs.String("at", "", "吊销生效时间（RFC 3339，默认现在）；之后盖章的文书判为无效")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *serial == "" || *reason == "" {
		return errors.New("用法: daiban keys revoke --serial S --reason R [--at 2026-01-02T15:04:05+08:00]")
	}
	var when time.Time
	if *at != "" {
		var err error
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("--at 时间格式无效（应为 RFC 3339，如 2026-01-02T15:04:05+08:00）: %w", err)
		}
	}
	r, err := pdf.RevokeCert(cfg.KeyDir, *serial, *reason, when)
	if err != nil {
		return err
	}
	fmt.Printf("已吊销证书 %s（原因 %s，自 %s 起）。新的吊销列表已写入 %s，运行中的服务一秒内生效并在 /pki/root.crl 公布。\n",
		r.Serial, r.Reason, r.At.Local().Format("2006-01-02 15:04:05"), filepath.Join(cfg.KeyDir, "root.crl"))
	if sealKeysExist(cfg.KeyDir) {
		fmt.Println("如果吊销的是当前电子签章证书，请立即运行 daiban keys rotate 并重启服务，否则新文书将无法通过核验。")
	}
	return nil
}
