package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/daiban/daiban/cmd/daiban/demo"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies"
	"github.com/daiban/daiban/policies/users"
	"github.com/daiban/daiban/sql/migrations"
)

func cmdMigrate(ctx context.Context, cfg config, args []string) error {
	logger := cfg.logger()
	db, err := openDatabase(ctx, cfg, logger) // applies migrations
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := migrations.Version(ctx, db.Pool)
	if err != nil {
		return err
	}
	fmt.Printf("数据库已迁移到版本 %d\n", v)
	return nil
}

func cmdDemo(ctx context.Context, cfg config, args []string) error {
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	created, err := demo.Load(ctx, db.Pool)
	if err != nil {
		return err
	}
	fmt.Println("演示县（沂源县）已载入：地区、事项目录。")
	return showAccounts(os.Stdout, cfg.DataDir, created)
}

// showAccounts gives the operator the demo passwords, never to the log:
// on the terminal when stdout is one; otherwise stdout is a log file or the
// journal, so they go into a file only this user can read, and stdout only
// says where.
func showAccounts(out *os.File, dataDir string, created []demo.Account) error {
	if len(created) == 0 || isTerminal(out) {
		printAccounts(out, created)
		return nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dataDir, demoAccountsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	printAccounts(f, created)
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "演示用户已创建。标准输出不是终端，为免密码进入日志，密码已写入 %s（仅本用户可读），查看后请删除该文件。\n", path)
	return err
}

// demoAccountsFile holds the demo passwords when there is no terminal.
const demoAccountsFile = "demo-accounts.txt"

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printAccounts shows the demo users created now with their passwords; this
// is the only time the passwords are shown.
func printAccounts(w io.Writer, accounts []demo.Account) {
	if len(accounts) == 0 {
		fmt.Fprintln(w, "演示用户已存在（密码只在首次创建时显示；可用 daiban user set --password-stdin 重设）。")
		return
	}
	fmt.Fprintln(w, "演示用户（密码只显示这一次，请妥善保存）：")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "用户名\t密码\t角色\t地区\t姓名")
	for _, a := range accounts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Username, a.Password, a.Role, a.Region, a.Name)
	}
	tw.Flush()
}

func cmdUser(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 {
		return errors.New("用法: daiban user add|list|set …")
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, cfg, args[1:])
	case "list":
		return userList(ctx, cfg, args[1:])
	case "set":
		return userSet(ctx, cfg, args[1:])
	}
	return fmt.Errorf("未知子命令 user %s", args[0])
}

func userAdd(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	username := fs.String("username", "", "用户名")
	role := fs.String("role", "", "角色: "+policies.JoinRoles("|"))
	region := fs.String("region", "", "地区代码")
	name := fs.String("name", "", "姓名")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	password, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := users.NewService(db.Pool, ledger.RecordAccount).Create(ctx, cliActor(), users.NewUser{Username: *username, Name: *name, Role: policies.Role(*role), Region: *region, Password: password})
	if err != nil {
		return err
	}
	fmt.Printf("已创建用户 %s（%s，%s，%s）\n", u.Username, u.Name, u.Role, u.Region)
	return nil
}

func userList(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("user list", flag.ContinueOnError)
	region := fs.String("region", "", "只列出该地区（含下级）的用户")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := users.NewService(db.Pool, ledger.RecordAccount).List(ctx, *region)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "用户名\t姓名\t角色\t地区\t状态")
	for _, u := range list {
		state := "启用"
		if u.Disabled {
			state = "停用"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Name, u.Role, u.Region, state)
	}
	return tw.Flush()
}

func userSet(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("user set", flag.ContinueOnError)
	username := fs.String("username", "", "用户名")
	var upd users.Update
	fs.Func("role", "新角色", func(s string) error { r := policies.Role(s); upd.Role = &r; return nil })
	fs.Func("region", "新地区代码", func(s string) error { upd.Region = &s; return nil })
	fs.Func("name", "新姓名", func(s string) error { upd.Name = &s; return nil })
	fs.Func("disabled", "停用（true）或启用（false）", func(s string) error {
		b, err := strconv.ParseBool(s)
		upd.Disabled = &b
		return err
	})
	pwStdin := fs.Bool("password-stdin", false, "从标准输入读取新密码")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *username == "" {
		return errors.New("--username 不能为空")
	}
	if *pwStdin {
		pw, err := readPassword(os.Stdin)
		if err != nil {
			return err
		}
		upd.Password = &pw
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := users.NewService(db.Pool, ledger.RecordAccount).Update(ctx, cliActor(), *username, upd)
	if err != nil {
		return err
	}
	fmt.Printf("已更新用户 %s（%s，%s，%s）\n", u.Username, u.Name, u.Role, u.Region)
	return nil
}

// cliActor is who the ledger names for an account change made on the
// command line: "cli:" and the operating-system user running it.
func cliActor() users.Actor {
	name := "unknown"
	if u, err := osuser.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	return users.Actor{Username: "cli:" + name}
}

// readPassword reads one line from stdin; the password never appears in
// arguments (and so never in ps or shell history).
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("请从标准输入提供密码，例如: echo '密码' | daiban user add …")
	}
	return pw, nil
}
