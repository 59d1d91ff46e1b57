package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daiban/daiban/agreements/pdf"
)

// sealKeysExist reports whether the center's seal keys are in dir.
func sealKeysExist(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "seal.key"))
	return err == nil
}

func cmdKeys(ctx context.Context, cfg config, args []string) error {
	if len(args) > 0 && args[0] == "rotate-pii" {
		return cmdKeysRotatePII(ctx, cfg, args[1:])
	}
	if len(args) == 0 || args[0] != "init" {
		return errors.New("用法: daiban keys init [--center NAME]")
	}
	fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
	center := fs.String("center", "Yiyuan County Government Service Center", "证书中的中心名称（建议用英文/拼音，PDF 阅读器显示最稳妥）")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := pdf.InitKeys(cfg.KeyDir, *center); err != nil {
		return err
	}
	fmt.Printf("已在 %s 生成中心根证书与电子签章证书（私钥权限 0600）。\n根证书可离线保存 root.key；盖章只需 seal.key、seal.pem、root.pem。\n", cfg.KeyDir)
	return nil
}
