package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daiban/daiban/agreements/pdf"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/reports"
	"github.com/daiban/daiban/cmd/daiban/app"
)

const reportUsage = "用法: daiban report monthly --month YYYY-MM --region CODE --out FILE.pdf"

func cmdReport(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 || args[0] != "monthly" {
		return errors.New(reportUsage)
	}
	return reportMonthly(ctx, cfg, args[1:])
}

// reportMonthly writes the monthly dispatch report of a county or township
// as a PDF. The operator of the command line reads the database directly,
// so there is no user scope; the month and the region are checked as the
// API checks them.
func reportMonthly(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("report monthly", flag.ContinueOnError)
	month := fs.String("month", "", "月份，格式 YYYY-MM")
	region := fs.String("region", "", "县或乡镇（街道）地区代码，例如 370323")
	out := fs.String("out", "", "输出的 PDF 文件")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *month == "" || *region == "" || *out == "" {
		return errors.New(reportUsage)
	}
	// Fonts first: a missing font package is reported before any database
	// work.
	fonts, err := pdf.LoadFonts(cfg.FontDirs...)
	if err != nil {
		return err
	}
	center := app.DefaultCenter
	center.BaseURL = cfg.BaseURL
	if cfg.CenterName != "" {
		center.Name = cfg.CenterName
	}
	renderer, err := pdf.NewRenderer(fonts, center)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	store := calendar.NewStore(db.Pool, cfg.quietLogger())
	if _, _, err := store.Load(ctx); err != nil {
		return err
	}
	svc := reports.NewService(db.Pool, store.Live.Current, renderer, nil)
	rep, err := svc.Monthly(ctx, *region, *month)
	if err != nil {
		return err
	}
	docPDF, err := svc.PDF(ctx, rep)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, docPDF); err != nil {
		return fmt.Errorf("无法写入 %s：%w", *out, err)
	}
	t := rep.Total
	fmt.Printf("已生成 %s（%d 字节）\n", *out, len(docPDF))
	fmt.Printf("%s：接收 %d 件，办结 %d 件，按时办结率 %s，月末逾期未办结 %d 件。\n",
		rep.Title, t.Received, t.Closed, rate(t.OnTimeRate), t.OverdueOpen)
	return nil
}

func rate(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", *v)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so a reader never sees half a PDF.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*.pdf")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
