package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/daiban/daiban/ledger"
)

func cmdLedger(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 {
		return errors.New("用法: daiban ledger verify [--checkpoint FILE] [--key FILE] | daiban ledger checkpoint")
	}
	switch args[0] {
	case "verify":
		return ledgerVerify(ctx, cfg, args[1:])
	case "checkpoint":
		return ledgerCheckpoint(ctx, cfg, args[1:])
	}
	return fmt.Errorf("未知子命令 ledger %s", args[0])
}

// ledgerVerify recomputes the whole tree and checks it against the latest
// signed checkpoint and, with --checkpoint, against one kept elsewhere. It
// exits non-zero naming the first bad index.
func ledgerVerify(ctx context.Context, cfg config, args []string) error {
	for _, a := range args {
		if a == "--remote" || a == "-remote" || strings.HasPrefix(a, "--remote=") || strings.HasPrefix(a, "-remote=") {
			return ledgerVerifyRemote(ctx, args)
		}
	}
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	kept := fs.String("checkpoint", "", "督查人员另行保存的检查点文件（签名文本）")
	keyFile := fs.String("key", filepath.Join(cfg.KeyDir, "ledger.pub"), "台账验证公钥文件")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	vkey, err := ledger.ReadVerifierKey(*keyFile)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	return ledger.VerifyCommand(ctx, db.Pool, vkey, *kept, os.Stdout)
}

// ledgerCheckpoint integrates pending entries and prints the latest signed
// checkpoint, for a supervisor to keep outside the database.
func ledgerCheckpoint(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("ledger checkpoint", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	signer, err := ledger.LoadOrCreateKey(cfg.KeyDir, origin)
	if err != nil {
		return err
	}
	log := ledger.New(db.Pool, signer)
	for {
		n, err := log.Integrate(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	cp, err := log.Checkpoint(ctx)
	if err != nil {
		return err
	}
	fmt.Print(cp.Note)
	return nil
}
