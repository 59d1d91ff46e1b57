package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/daiban/daiban"
	"github.com/daiban/daiban/cases/calendar"
	"github.com/daiban/daiban/cases/deadlines"
)

const calendarUsage = "用法: daiban calendar import [--dry-run] FILE | daiban calendar show [--year Y]"

func cmdCalendar(ctx context.Context, cfg config, args []string) error {
	if len(args) == 0 {
		return errors.New(calendarUsage)
	}
	switch args[0] {
	case "import":
		return calendarImport(ctx, cfg, args[1:])
	case "show":
		return calendarShow(ctx, cfg, args[1:])
	}
	return fmt.Errorf("未知子命令 calendar %s（%s）", args[0], calendarUsage)
}

// calendarImport loads a holiday file (date,kind,name) into the database
// in one transaction, recomputes the due dates of open cases, and prints
// what changed. Running servers pick the new calendar up by themselves.
func calendarImport(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("calendar import", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "只检查文件并列出将变更的办结时限，不写入")
	actor := fs.String("actor", "system:calendar-import", "记入台账的操作人")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(calendarUsage)
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("无法读取日历文件：%w", err)
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
	svc := deadlines.NewService(deadlines.Config{Pool: db.Pool, Logger: cfg.quietLogger(), Calendars: store})
	res, err := svc.ImportCalendar(ctx, data, *actor, *dryRun)
	if err != nil {
		if daiban.ErrorCode(err) == daiban.EINVALID {
			return fmt.Errorf("日历文件 %s 有误，未做任何更改：%s", path, daiban.ErrorMessage(err))
		}
		return err
	}
	verb := "已导入"
	if res.DryRun {
		verb = "检查通过（--dry-run，未写入）"
	}
	fmt.Printf("%s %s节假日安排：%d 个日期；日历现覆盖 %s，版本 %d。\n", verb, calendar.YearsText(res.Years), res.Days, calendar.YearsText(res.Covered), res.Version)
	fmt.Printf("在办案件重算办结时限 %d 件，其中 %d 件变更", res.Recomputed, len(res.Changed))
	if len(res.Changed) == 0 {
		fmt.Println("。")
	} else {
		fmt.Println("：")
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range res.Changed {
		fmt.Fprintf(tw, "  %s\t%s → %s\n", c.Number, c.Old, c.New)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Confirmed) > 0 {
		fmt.Printf("暂定办结日期经重算不变、不再暂定 %d 件。\n", len(res.Confirmed))
	}
	if len(res.Rectifications) > 0 {
		fmt.Printf("差评整改期限变更 %d 件：\n", len(res.Rectifications))
		for _, c := range res.Rectifications {
			fmt.Fprintf(tw, "  %s\t%s → %s\n", c.Number, c.Old, c.New)
		}
	}
	return tw.Flush()
}

// calendarShow prints the calendar in force: the years loaded and the
// listed days (of one year with --year).
func calendarShow(ctx context.Context, cfg config, args []string) error {
	fs := flag.NewFlagSet("calendar show", flag.ContinueOnError)
	year := fs.Int("year", 0, "只显示该年")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg, cfg.quietLogger())
	if err != nil {
		return err
	}
	defer db.Close()
	store := calendar.NewStore(db.Pool, cfg.quietLogger())
	cal, version, err := store.Load(ctx)
	if err != nil {
		return err
	}
	infos, err := store.Years(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("节假日日历版本 %d，覆盖 %s\n", version, calendar.YearsText(cal.Years()))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "年份\t工作日\t导入时间\t来源")
	for _, y := range infos {
		if *year != 0 && y.Year != *year {
			continue
		}
		start := time.Date(y.Year, 1, 1, 0, 0, 0, 0, calendar.Shanghai)
		n := cal.WorkdaysBetween(start.AddDate(0, 0, -1), start.AddDate(1, 0, -1))
		src := "内置"
		if y.Source != "builtin" {
			src = "文件 sha256:" + y.Source[:min(16, len(y.Source))]
		}
		fmt.Fprintf(tw, "%d\t%d 天\t%s\t%s\n", y.Year, n, y.ImportedAt.In(calendar.Shanghai).Format("2006-01-02 15:04"), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *year != 0 && !cal.Covers(time.Date(*year, 6, 1, 0, 0, 0, 0, calendar.Shanghai)) {
		return fmt.Errorf("日历没有 %d 年的节假日安排（该年按周一至周五上班计算）", *year)
	}
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "日期\t星期\t安排\t节日")
	for _, d := range cal.Days() {
		if *year != 0 && d.Date.Year() != *year {
			continue
		}
		kind := "放假"
		if d.Work {
			kind = "调休上班"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Date.Format("2006-01-02"), calendar.WeekdayName(d.Date), kind, d.Name)
	}
	return tw.Flush()
}
