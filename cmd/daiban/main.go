// Command daiban runs the 帮办代办 case system: the HTTP server and the
// administration commands. Configuration comes from the environment (see
// config.go); each subcommand has its own flags.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/daiban/daiban"
)

const usage = `daiban — 帮办代办案件系统

用法:
  daiban serve [--demo]        启动 HTTP 服务（无 DATABASE_URL 时自带 PostgreSQL）
  daiban migrate               执行数据库迁移
  daiban demo                  载入演示县（沂源县）：地区、事项目录、演示用户
  daiban user add --username U --role R --region CODE --name N   （密码从标准输入读取）
  daiban user list [--region CODE]
  daiban user set --username U [--role R] [--region CODE] [--name N] [--disabled=true|false] [--password-stdin]
  daiban ledger verify [--checkpoint FILE] [--key FILE]   重算台账并核对签名检查点
  daiban ledger checkpoint     输出最新的签名检查点（请另行保存）
  daiban ledger verify --remote URL --log-key K [--witness-key K]… [--checkpoint FILE] [--document FILE.pdf|--sha256 H] [--save FILE]
                               只用公开接口校验台账：签名与见证法定数、由瓦片重建的树、一致性、文书包含
  daiban witness serve --key FILE --log-key KEY --addr HOST:PORT   运行见证（C2SP tlog-witness），为台账检查点联署
  daiban person erase --id-number N [--dry-run]   删除已办结且过保存期的申请人个人信息（台账不变）
  daiban calendar import [--dry-run] FILE   导入国务院节假日安排（CSV：date,kind,name），重算在办案件办结时限
  daiban calendar show [--year Y]           显示当前节假日日历
  daiban catalog import [--actor U] FILE    导入事项目录及办事指南（JSON 完整目录或 CSV 逐事项修改；任一行有误则整份不导入）
  daiban report monthly --month YYYY-MM --region CODE --out FILE.pdf   生成每月调度报告（PDF）
  daiban keys init [--center NAME] [--if-missing]   生成中心根证书、电子签章证书和台账签名密钥（DAIBAN_KEYS 目录；首次 serve 之前运行，之后把 root.key 移到离线保存）
  daiban keys rotate            签发新的电子签章密钥和证书（旧证书保留，旧文书仍可核验；需要 root.key）
  daiban keys revoke --serial S --reason R [--at RFC3339]   吊销签章或时间戳证书（写入根证书吊销列表 /pki/root.crl；需要 root.key）
  daiban keys rotate-pii [--resume|--add-only] [--retire]   轮换身份证号码与电话的加密密钥（pii.key）并重新加密
  daiban backup check          检查 WAL 归档与最近一次完好的备份（pgBackRest）；26 小时内没有备份时退出码为 1
  daiban partner add --name N --kind hotline|sms|platform [--webhook URL]   添加合作方（12345 热线、短信网关、政务平台），密钥只显示一次
  daiban partner list          列出合作方及投递情况
  daiban partner revoke --name N   吊销合作方密钥
  daiban bench [--workers N] [--duration D] [--addr URL [--pid P]]   压测：模拟代办员走完整案件流程，对比数据库裸事务速率

环境变量见 README 的配置表（DATABASE_URL、DAIBAN_APP_DATABASE_URL、DAIBAN_ADDR、DAIBAN_DATA、DAIBAN_KEYS、DAIBAN_TSA_URL、DAIBAN_LOG_LEVEL）。
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, errHelpShown) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daiban:", message(err))
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Print(usage)
		return errors.New("缺少子命令")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, cfg, args[1:])
	case "migrate":
		return cmdMigrate(ctx, cfg, args[1:])
	case "demo":
		return cmdDemo(ctx, cfg, args[1:])
	case "user":
		return cmdUser(ctx, cfg, args[1:])
	case "ledger":
		return cmdLedger(ctx, cfg, args[1:])
	case "calendar":
		return cmdCalendar(ctx, cfg, args[1:])
	case "report":
		return cmdReport(ctx, cfg, args[1:])
	case "catalog":
		return cmdCatalog(ctx, cfg, args[1:])
	case "keys":
		return cmdKeys(ctx, cfg, args[1:])
	case "bench":
		return cmdBench(ctx, cfg, args[1:])
	case "backup":
		return cmdBackup(ctx, cfg, args[1:])
	case "witness":
		return cmdWitness(ctx, cfg, args[1:])
	case "person":
		return cmdPerson(ctx, cfg, args[1:])
	case "partner":
		return cmdPartner(ctx, cfg, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("未知子命令 %q", args[0])
}

// message prints application errors by their user-facing message and
// anything else as is (the command line is the operator's own terminal).
func message(err error) string {
	var de *daiban.Error
	if errors.As(err, &de) {
		if de.Field != "" {
			return de.Field + ": " + de.Message
		}
		return de.Message
	}
	return err.Error()
}
