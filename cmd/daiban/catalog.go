package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/catalog"
)

const catalogUsage = "用法: daiban catalog import [--actor NAME] FILE（.json 为完整目录；.csv 每行一个事项，列见 README）"

func cmdCatalog(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 || args[0] != "import" {
		return errors.New(catalogUsage)
	}
	fs := flag.NewFlagSet("catalog import", flag.ContinueOnError)
	actor := fs.String("actor", "system:catalog-import", "记入台账的操作人（管理员用户名）")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(catalogUsage)
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("无法读取目录文件：%w", err)
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	store := catalog.NewStore(db.Pool)
	cur, err := store.Current(ctx)
	if err != nil {
		return err
	}
	c, err := catalog.ParseFile(path, data, cur)
	if err == nil {
		var changes []catalog.Change
		changes, err = store.ImportAs(ctx, c, *actor)
		if err == nil {
			printChanges(changes)
			return nil
		}
	}
	if daiban.ErrorCode(err) == daiban.EINVALID {
		return fmt.Errorf("目录文件 %s 有误，未做任何更改：%s", path, message(err))
	}
	return err
}

func printChanges(changes []catalog.Change) {
	if len(changes) == 0 {
		fmt.Println("目录无变化。")
		return
	}
	kinds := map[string]string{"matter": "事项", "material": "材料", "chain": "一件事"}
	fmt.Printf("已导入，%d 项变更（每项记入台账）：\n", len(changes))
	for _, ch := range changes {
		verb := "修改"
		if ch.New {
			verb = "新增"
		}
		fmt.Printf("  %s%s %s：%s\n", verb, kinds[ch.Kind], ch.Code, strings.Join(ch.Fields, "、"))
	}
}
