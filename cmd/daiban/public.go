package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/daiban/daiban/cases"
	"github.com/daiban/daiban/cmd/daiban/app"
	"github.com/daiban/daiban/ledger"
	"github.com/daiban/daiban/policies/pii"
)

// publicOptions reads the witnesses, the quorum and the public rate limit
// from the environment (README, configuration table).
func publicOptions() (app.PublicOptions, error) {
	var o app.PublicOptions
	var err error
	if o.Witnesses, err = ledger.ParseWitnesses(os.Getenv("DAIBAN_WITNESSES")); err != nil {
		return o, err
	}
	if o.Quorum, err = envInt("DAIBAN_WITNESS_QUORUM", 0); err != nil {
		return o, err
	}
	rate, err := envInt("DAIBAN_PUBLIC_RATE", 10)
	if err != nil {
		return o, err
	}
	o.RatePerSecond = float64(rate)
	o.RateBurst, err = envInt("DAIBAN_PUBLIC_BURST", 40)
	return o, err
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s 应为非负整数", name)
	}
	return n, nil
}

// cmdWitness runs a witness: what a supervisor's office or the city runs
// on its own machine, with its own key.
func cmdWitness(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return errors.New("用法: daiban witness serve --key FILE --log-key KEY|FILE --addr HOST:PORT [--state FILE] [--name NAME]")
	}
	fs := flag.NewFlagSet("witness serve", flag.ContinueOnError)
	keyFile := fs.String("key", "", "见证私钥文件（不存在时生成）")
	logKey := fs.String("log-key", "", "所见证台账的验证公钥，或存放它的文件")
	addr := fs.String("addr", "127.0.0.1:8090", "监听地址")
	state := fs.String("state", "", "见证状态文件（默认与私钥同目录的 witness.state）")
	name := fs.String("name", "witness", "新生成私钥时的见证名称")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *keyFile == "" || *logKey == "" {
		return errors.New("缺少 --key 或 --log-key")
	}
	if *state == "" {
		*state = filepath.Join(filepath.Dir(*keyFile), ledger.WitnessStateFile)
	}
	skey, err := ledger.LoadOrCreateWitnessKey(*keyFile, *name)
	if err != nil {
		return err
	}
	w, err := ledger.NewWitness(skey, readKeyArg(*logKey), *state)
	if err != nil {
		return err
	}
	fmt.Printf("见证已启动: http://%s/add-checkpoint\n见证公钥（填入 DAIBAN_WITNESSES）: %s\n已联署的记录数: %d\n", *addr, w.VerifierKey(), w.Size())
	srv := &http.Server{Addr: *addr, Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readKeyArg takes a key given as itself or as the name of a file holding
// it.
func readKeyArg(s string) string {
	if strings.Count(s, "+") >= 2 {
		return s
	}
	if b, err := os.ReadFile(s); err == nil {
		return strings.TrimSpace(string(b))
	}
	return s
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// ledgerVerifyRemote checks a server's public ledger knowing only its URL
// and the published keys.
func ledgerVerifyRemote(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	var o ledger.RemoteOptions
	var wkeys multiFlag
	fs.StringVar(&o.URL, "remote", "", "服务地址，如 https://daiban.example.gov.cn")
	logKey := fs.String("log-key", "", "台账验证公钥（README 或 /ledger/key），或存放它的文件")
	fs.Var(&wkeys, "witness-key", "见证公钥（可重复）")
	fs.IntVar(&o.Quorum, "quorum", 0, "至少需要几个见证联署（默认：全部 --witness-key）")
	kept := fs.String("checkpoint", "", "此前保存的检查点文件")
	doc := fs.String("document", "", "须包含在台账中的盖章文书（PDF 文件）")
	sum := fs.String("sha256", "", "须包含在台账中的盖章文书的 SHA-256")
	save := fs.String("save", "", "校验通过后把公开检查点保存到此文件，供下次 --checkpoint 使用")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.URL == "" || *logKey == "" {
		return errors.New("缺少 --remote 或 --log-key")
	}
	o.LogKey, o.Kept, o.Document = readKeyArg(*logKey), *kept, strings.ToLower(*sum)
	for _, k := range wkeys {
		o.WitnessKeys = append(o.WitnessKeys, readKeyArg(k))
	}
	if *doc != "" {
		var err error
		if o.Document, err = ledger.DocumentSHA256(*doc); err != nil {
			return err
		}
	}
	if err := ledger.VerifyRemote(ctx, o, os.Stdout); err != nil {
		return err
	}
	fmt.Println("台账校验通过")
	if *save != "" {
		return saveCheckpoint(ctx, o.URL, *save)
	}
	return nil
}

func saveCheckpoint(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/ledger/checkpoint", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// cmdPerson erases a person's readable data (administrator: who can run
// commands against the database).
func cmdPerson(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 || args[0] != "erase" {
		return errors.New("用法: daiban person erase --id-number N [--dry-run]")
	}
	fs := flag.NewFlagSet("person erase", flag.ContinueOnError)
	id := fs.String("id-number", "", "申请人的身份证号码（或统一社会信用代码）")
	dry := fs.Bool("dry-run", false, "只列出将删除的内容，不删除")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	days, err := envInt("DAIBAN_RETENTION_DAYS", 1095)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := pii.LoadOrCreate(cfg.KeyDir)
	if err != nil {
		return err
	}
	e, err := cases.ErasePerson(ctx, db.Pool, keys, cliActor().Username, *id, time.Duration(days)*24*time.Hour, time.Now(), *dry)
	if err != nil {
		return err
	}
	verb := "已删除"
	if e.DryRun {
		verb = "将删除（演练，未改动）"
	}
	fmt.Printf("%s以下案件申请人的个人信息：%s\n文书 PDF 与签名图像：%d 份\n", verb, strings.Join(e.Cases, "、"), e.Documents)
	if !e.DryRun {
		fmt.Println("已记入台账（person.erased，不含个人信息）；台账仍可逐字节校验。")
	}
	return nil
}

// printPublicKeys tells the operator the keys outsiders verify with.
func printPublicKeys(a *app.App) {
	fmt.Printf("台账公钥（/ledger/key）: %s\n", a.Signer.VerifierKey())
	keys, quorum := a.Publisher.Witnesses()
	for _, k := range keys {
		fmt.Printf("见证公钥: %s\n", k)
	}
	if a.Witness != nil {
		fmt.Println("未配置 DAIBAN_WITNESSES：由本机内置见证联署（仅供演示，不能向外部证明未被改写）")
	}
	fmt.Printf("见证法定数: %d\n", quorum)
}
