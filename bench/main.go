// Command bench measures weir on this machine, every number next to a baseline measured in the
// same run, so a noisy machine cannot fake a result:
//
//	go run ./bench [-short] [-scenarios standard,msgpack,...] [-out DIR] [-json]
//
// It starts a kfake broker in its own process, produces the data sets once, and runs every
// scenario (and every baseline) as a child process of this same binary, so each one's CPU time
// and peak RSS are its own. The scenarios are described in scenarios.go and README.md. It
// writes DIR/results.json, DIR/summary.md, DIR/rate.svg and DIR/latency.svg; progress goes to
// stderr; -json prints only the JSON object on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	role := fl.String("role", "", "internal: broker | child (the orchestrator starts these)")
	specJSON := fl.String("spec", "", "internal: the child's spec, JSON")
	opts := defaultOptions()
	opts.register(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	switch *role {
	case "broker":
		stopProfile, err := profileProcess(opts.Profile, "broker")
		if err != nil {
			return err
		}
		defer stopProfile()
		return runBroker(stdin, stdout)
	case "child":
		var sp spec
		if err := json.Unmarshal([]byte(*specJSON), &sp); err != nil {
			return fmt.Errorf("-spec: %w", err)
		}
		return runChild(ctx, sp, stdout, stderr)
	case "":
	default:
		return fmt.Errorf("-role: %q is not one of broker, child", *role)
	}
	if err := opts.finish(fl); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	stopProfile, err := profileProcess(opts.Profile, "orchestrator")
	if err != nil {
		return err
	}
	rep, err := orchestrate(ctx, self, opts, stderr)
	stopProfile()
	if err != nil {
		return err
	}
	if err := rep.write(opts.Out); err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	_, err = io.WriteString(stdout, rep.markdown())
	return err
}
