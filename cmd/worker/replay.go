package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/replay"
)

// runReplay is `weir replay`: it evaluates contributor rules against a log file and prints the
// top contributors of every window. Errors and the closing summary go to stderr; the tables to
// stdout. It returns the process exit code (0 ok, 1 failure, 2 usage).
func runReplay(args []string, stdout io.Writer) int {
	return replayMain(args, os.Stdin, stdout, os.Stderr)
}

func replayMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("weir replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rules := fs.String("rules", "", "rule files, comma separated (a rule's name is its file name without extension unless the file names it)")
	in := fs.String("in", "-", "events file, newline-delimited JSON or CLF (- for stdin)")
	format := fs.String("format", "json", "event format: json or clf")
	timeField := fs.String("time-field", "", "event time: a JSON path (json), or the 1-based position of the bracketed time field (clf, default 4)")
	period := fs.Duration("period", time.Minute, "window length")
	top := fs.Int("top", contrib.DefaultTopN, fmt.Sprintf("contributors per report (1 to %d)", contrib.MaxTopN))
	out := fs.String("out", "", "directory for the reports (same layout as the file sink); empty writes none")
	gz := fs.Bool("gzip", false, "gzip the report files")
	maxOpen := fs.Int("max-open-windows", replay.DefaultMaxOpenWindows, "windows held in memory; lines may come in any order, and past this the earliest windows wait on disk")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: weir replay -rules FILE[,FILE…] [-in FILE] [-format json|clf] [-time-field PATH] [-period 60s] [-top 10] [-out DIR] [-gzip] [-max-open-windows 512]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *rules == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *maxOpen < 1 {
		fmt.Fprintf(stderr, "weir replay: -max-open-windows %d: want at least 1\n", *maxOpen)
		return 2
	}
	f, err := decode.ParseFormat(*format)
	if err != nil || f == decode.Msgpack {
		fmt.Fprintf(stderr, "weir replay: -format %q: want json or clf\n", *format)
		return 2
	}
	loaded, err := contrib.LoadFiles(strings.Split(*rules, ","))
	if err != nil {
		fmt.Fprintf(stderr, "weir replay: %v\n", err)
		return 1
	}
	src := stdin
	if *in != "-" {
		file, err := os.Open(*in)
		if err != nil {
			fmt.Fprintf(stderr, "weir replay: %v\n", err)
			return 1
		}
		defer file.Close()
		src = file
	}
	sum, err := replay.Run(replay.Config{
		Rules:          loaded,
		Format:         f,
		TimeField:      *timeField,
		Period:         *period,
		Contrib:        contrib.Options{TopN: *top},
		OutDir:         *out,
		Gzip:           *gz,
		MaxOpenWindows: *maxOpen,
	}, src, stdout)
	fmt.Fprintf(stderr, "weir replay: %d lines, %d events in %d windows, %d reports; %d malformed, %d without a time\n",
		sum.Lines, sum.Events, sum.Windows, sum.Reports, sum.Malformed, sum.NoTime)
	if sum.Spilled > 0 {
		fmt.Fprintf(stderr, "weir replay: more than %d windows at once: %d kept on disk until the end, %d read back for lines out of order\n",
			*maxOpen, sum.Spilled, sum.Reloaded)
	}
	if sum.FirstError != "" {
		fmt.Fprintf(stderr, "weir replay: first problem: %s\n", sum.FirstError)
	}
	if err != nil {
		fmt.Fprintf(stderr, "weir replay: %v\n", err)
		return 1
	}
	return 0
}
