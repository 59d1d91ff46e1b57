package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// errHelpShown ends a command whose help was asked for (-h): main exits 0
// without a message.
var errHelpShown = errors.New("help shown")

// parseFlags parses a subcommand's flags, in Chinese: -h prints the
// options and ends the command; a bad flag is named in the error, followed
// by the options on stderr.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil {
		return nil
	}
	if errors.Is(err, flag.ErrHelp) {
		printFlags(os.Stdout, fs)
		return errHelpShown
	}
	printFlags(os.Stderr, fs)
	return errors.New(flagError(err))
}

var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	reNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	reBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -+([^:]+)`)
)

// flagError says what the flag package's error means, in Chinese.
func flagError(err error) string {
	s := err.Error()
	if m := reUndefined.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("未知选项 --%s", m[1])
	}
	if m := reNeedsArg.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("选项 --%s 需要一个值", m[1])
	}
	if m := reBadValue.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("选项 --%s 的值 %q 无效", m[2], m[1])
	}
	return "选项有误：" + s
}

// printFlags lists a command's options with their defaults.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "用法：daiban %s [选项]\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + valueName(name)
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf("（默认 %s）", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n      %s%s\n", line, strings.ReplaceAll(usage, "\n", "\n      "), def)
	})
}

// valueName names a flag's value kind in Chinese.
func valueName(kind string) string {
	switch kind {
	case "int", "uint", "int64", "uint64":
		return "数字"
	case "duration":
		return "时长"
	case "float":
		return "小数"
	}
	return "值"
}
