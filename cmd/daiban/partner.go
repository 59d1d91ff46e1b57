package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/partners"
	"github.com/daiban/daiban/policies/pii"
)

// cmdPartner is "daiban partner add|list|revoke": the systems daiban
// exchanges data with (DESIGN, "Applicant notifications and partners").
func cmdPartner(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 {
		return errors.New("用法: daiban partner add|list|revoke …")
	}
	switch args[0] {
	case "add":
		return partnerAdd(ctx, cfg, args[1:])
	case "list":
		return partnerList(ctx, cfg, args[1:])
	case "revoke":
		return partnerRevoke(ctx, cfg, args[1:])
	}
	return fmt.Errorf("未知子命令 partner %s", args[0])
}

// partnerStore opens the partners on the database, with the PII keys
// that seal their keys.
func partnerStore(ctx context.Context, cfg config) (*partners.Store, func(), error) {
	keys, err := pii.LoadOrCreate(cfg.KeyDir)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return nil, nil, err
	}
	return partners.NewStore(db.Pool, keys, ledger.RecordAccount), db.Close, nil
}

func partnerAdd(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("partner add", flag.ContinueOnError)
	name := fs.String("name", "", "合作方名称")
	kind := fs.String("kind", "", "类型: hotline|sms|platform")
	webhook := fs.String("webhook", "", "回调地址（通知投递到这里），可留空")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, closeDB, err := partnerStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	p, key, err := store.Add(ctx, cliActor().Username, *name, partners.Kind(*kind), *webhook)
	if err != nil {
		return err
	}
	fmt.Printf("已添加合作方 %s（%s）。\n密钥（只显示这一次，请立即交给对方妥善保存；丢失只能吊销后重建）：\n%s\n", p.Name, p.Kind.Name(), key)
	return nil
}

func partnerList(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("partner list", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, closeDB, err := partnerStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	list, err := store.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "名称\t类型\t回调地址\t密钥前缀\t最近投递\t失败次数\t投递失败待重发\t状态")
	for _, p := range list {
		last, state := "—", "在用"
		if p.LastDelivery != nil {
			last = p.LastDelivery.Local().Format("2006-01-02 15:04")
		}
		if p.RevokedAt != nil {
			state = "已吊销 " + p.RevokedAt.Local().Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", p.Name, p.Kind.Name(), orDash(p.WebhookURL), p.KeyPrefix, last, p.Failures, p.Dead, state)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func partnerRevoke(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("partner revoke", flag.ContinueOnError)
	name := fs.String("name", "", "合作方名称")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, closeDB, err := partnerStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := store.Revoke(ctx, cliActor().Username, *name); err != nil {
		return err
	}
	fmt.Printf("已吊销合作方 %s 的密钥：其请求即刻被拒绝，也不再向其投递。\n", *name)
	return nil
}
