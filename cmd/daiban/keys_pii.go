package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cases/appointments"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/pii"
)

// cmdKeysRotatePII is "daiban keys rotate-pii": a new version of the key
// that seals ID numbers and phones, then every stored value sealed again
// under it and every blind index recomputed. Servers reading the same
// DAIBAN_KEYS pick the new version up within a second; old versions stay
// in pii.key (so backups made before still open) until --retire.
func cmdKeysRotatePII(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("keys rotate-pii", flag.ContinueOnError)
	resume := fs.Bool("resume", false, "不生成新版本，只把仍用旧版本加密的数据重新加密（中断后继续，或各服务器都已拿到新密钥文件后）")
	addOnly := fs.Bool("add-only", false, "只生成新版本，不重新加密（多台服务器时：先把新的 pii.key 复制到每台服务器，再运行 --resume）")
	retire := fs.Bool("retire", false, "重新加密完成后，从 pii.key 中删除旧版本（此后用旧密钥加密的备份将无法读取号码）")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *resume && *addOnly {
		return fmt.Errorf("--resume 与 --add-only 不能同时使用")
	}
	if _, err := pii.LoadOrCreate(cfg.KeyDir); err != nil {
		return err
	}
	if !*resume {
		v, err := pii.Rotate(cfg.KeyDir)
		if err != nil {
			return err
		}
		fmt.Printf("已在 %s/%s 生成个人信息密钥第 %d 版；新数据从现在起用它加密。\n", cfg.KeyDir, pii.KeyFile, v)
		if *addOnly {
			return nil
		}
	}
	k, err := pii.Load(cfg.KeyDir)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := cases.SealPending(ctx, db.Pool, k); err != nil {
		return err
	}
	n, m, err := cases.Reseal(ctx, db.Pool, k)
	if err != nil {
		return fmt.Errorf("重新加密中断（已完成 %d 件案件；可用 --resume 继续）: %w", n, err)
	}
	fmt.Printf("已用第 %d 版密钥重新加密 %d 件案件的身份证号码与电话（及 %d 条保存的应答），并重算检索索引。\n", k.Current(), n, m)
	if err := resealApplicantExtras(ctx, db.Pool, k); err != nil {
		return err
	}
	pn, err := partners.NewStore(db.Pool, k, ledger.RecordAccount).Reseal(ctx)
	if err != nil {
		return err
	}
	if pn > 0 {
		fmt.Printf("已用第 %d 版密钥重新加密 %d 个合作方密钥。\n", k.Current(), pn)
	}
	if *retire {
		gone, err := pii.Retire(cfg.KeyDir)
		if err != nil {
			return err
		}
		fmt.Printf("已删除旧版本 %v。\n", gone)
	}
	return nil
}

// resealApplicantExtras re-seals the bookings' phones and the postal
// addresses (issue 17) under the current key.
func resealApplicantExtras(ctx context.Context, pool *pgxpool.Pool, k *pii.Keys) error {
	a, err := appointments.Reseal(ctx, pool, k)
	if err != nil {
		return fmt.Errorf("重新加密预约电话中断: %w", err)
	}
	d, err := cases.ResealAddresses(ctx, pool, k)
	if err != nil {
		return fmt.Errorf("重新加密邮寄地址中断: %w", err)
	}
	fmt.Printf("另重新加密网上预约电话 %d 个、邮寄地址 %d 个。\n", a, d)
	return nil
}
