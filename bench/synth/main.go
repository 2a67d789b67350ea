// Command synth is issue 21's second yardstick: weir's anomaly detector on seeded, user-like
// series of the kinds a platform team watches per window (families.go), clean and with the
// anomalies users mean scripted in (anomaly.go). It prints false alarms per 10,000 points of
// the clean series and, per family and anomaly, the detection rate within a stated delay, the
// median delay and the median best score; the same for mature series whose regime changes
// (mature.go) and for a new tenant's small counts in their first two weeks (small.go) (README.md).
//
//	go run ./bench/synth [-seeds N] [-save FILE] [-against FILE] [-alarms]
//
// It decides nothing: decisions stay NAB's leave-one-category-out rule (bench/nab/README.md);
// this is reported beside them, so that a change that helps NAB and hurts these series shows it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/weirstream/weir/pipeline/anomaly"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fset := flag.NewFlagSet("synth", flag.ContinueOnError)
	seeds := fset.Int("seeds", 50, "series per family and anomaly (each seed a different series and onset)")
	save := fset.String("save", "", "save the run as JSON to this file")
	against := fset.String("against", "", "compare with a run saved by -save and print what changed")
	alarms := fset.Bool("alarms", false, "also print where the clean series' false alarms fall: by channel, age and time of day")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 {
		return errors.New("-seeds must be at least 1")
	}
	var base *synthRun
	if *against != "" {
		var err error
		// Read and checked before the run, so that a bad or incomparable file fails at once
		// rather than after the whole run.
		if base, err = readRun(*against); err != nil {
			return err
		}
		if why := comparable(*base, synthRun{Version: saveVersion, Seeds: *seeds, Step: step.String()}); why != "" {
			return fmt.Errorf("not comparable: %s", why)
		}
	}
	cur := measure(*seeds)
	cur.print(stdout)
	if *save != "" {
		if err := writeRun(*save, cur); err != nil {
			return err
		}
	}
	if base != nil {
		if err := compare(stdout, *base, cur); err != nil {
			return err
		}
	}
	if *alarms {
		printWhere(stdout, alarmsWhere(*seeds), anomaly.DefaultConfig().AlarmScore)
	}
	return nil
}
