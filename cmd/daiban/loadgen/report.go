package loadgen

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/width"
)

// ActionStats are one action's numbers.
type ActionStats struct {
	Name          string
	Count, Errors int
	PerSecond     float64
	P50, P95, P99 time.Duration
}

// Report is a run's result.
type Report struct {
	Workers        int
	ServerElapsed  time.Duration // time the server's side ran (slices, drained)
	BareElapsed    time.Duration
	Actions        []ActionStats
	Requests       int // server requests, logins excluded
	ActionRate     float64
	CasesCompleted int
	CasesStarted   int
	BareTx         int64
	BareRate       float64 // tx/s; 0 when not measured
	Ratio          float64 // ActionRate / BareRate
	PeakRSS        int64   // bytes; 0 when not measured
	SignInPeakRSS  int64   // peak up to the moment every worker had signed in (with ResetPeak)
	RSSNote        string
	ErrorSamples   []string
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "daiban bench：%d 个模拟代办员，服务端 %.1f 秒，裸事务 %.1f 秒\n", r.Workers, r.ServerElapsed.Seconds(), r.BareElapsed.Seconds())
	fmt.Fprintf(w, "%s %s %s %s %s %s %s\n", padRight("操作", 16), padLeft("次数", 7), padLeft("每秒", 9), padLeft("p50 毫秒", 9), padLeft("p95 毫秒", 9), padLeft("p99 毫秒", 9), padLeft("出错", 6))
	for _, a := range r.Actions {
		name := a.Name
		if l, ok := actionLabels[a.Name]; ok {
			name = l
		}
		fmt.Fprintf(w, "%s %7d %9.1f %9.1f %9.1f %9.1f %6d\n", padRight(name, 16), a.Count, a.PerSecond, ms(a.P50), ms(a.P95), ms(a.P99), a.Errors)
	}
	fmt.Fprintf(w, "完成案件：%d 件（开始 %d 件；其余因压测结束或出错未走完）\n", r.CasesCompleted, r.CasesStarted)
	fmt.Fprintf(w, "服务端：%d 个请求，每秒 %.1f 个（不含登录：每个模拟代办员在计时前登录一次）\n", r.Requests, r.ActionRate)
	if r.BareRate > 0 {
		fmt.Fprintf(w, "数据库裸事务（BEGIN；UPDATE 1 行；INSERT 1 行；COMMIT），同样并发：%d 个，每秒 %.1f 个\n", r.BareTx, r.BareRate)
		fmt.Fprintf(w, "服务端请求速率 / 裸事务速率：%.3f\n", r.Ratio)
	} else {
		fmt.Fprintln(w, "数据库裸事务：未测")
	}
	if r.PeakRSS > 0 && r.SignInPeakRSS > 0 {
		fmt.Fprintf(w, "峰值内存（RSS）：全程 %.1f MiB；%.1f MiB 至 %d 个模拟代办员全部登录，之后 %.1f MiB（%s）\n",
			float64(max(r.PeakRSS, r.SignInPeakRSS))/(1<<20), float64(r.SignInPeakRSS)/(1<<20), r.Workers, float64(r.PeakRSS)/(1<<20), r.RSSNote)
	} else if r.PeakRSS > 0 {
		fmt.Fprintf(w, "峰值内存（RSS）：%.1f MiB（%s）\n", float64(r.PeakRSS)/(1<<20), r.RSSNote)
	} else {
		fmt.Fprintf(w, "峰值内存（RSS）：未测（%s）\n", r.RSSNote)
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "出错：%s\n", e)
	}
}

// actionLabels name the measured actions in the report.
var actionLabels = map[string]string{
	ActLogin: "登录", ActCreate: "受理登记", ActGet: "查看案件", ActReview: "材料初审",
	ActAgreement: "生成委托协议", ActAgentSign: "代办员签名", ActApplicantSign: "申请人签署协议",
	ActProgress: "办理进展", ActResults: "办理结果", ActHandover: "交付核验",
	ActReceiptSign: "申请人签收", ActEvaluate: "评价",
}

// columns is how many terminal columns s takes: East Asian wide and
// fullwidth characters take two.
func columns(s string) int {
	n := 0
	for _, r := range s {
		n++
		if k := width.LookupRune(r).Kind(); k == width.EastAsianWide || k == width.EastAsianFullwidth {
			n++
		}
	}
	return n
}

func padRight(s string, n int) string { return s + strings.Repeat(" ", max(0, n-columns(s))) }
func padLeft(s string, n int) string  { return strings.Repeat(" ", max(0, n-columns(s))) + s }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
