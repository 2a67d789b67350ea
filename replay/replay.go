// Package replay evaluates contributor rules against a log file: the way a user tries rules
// before deploying them, and the way weir's accuracy is checked end to end. Events are
// newline-delimited JSON or CLF lines; each is assigned to a tumbling window by its event
// time, in whatever order the lines come (a file has no lateness: every line counts in the
// window its time says), folded into one contrib State per rule and window, and at the end
// every window's reports are written in time order as the file sink writes them (sinks/layout
// keys under a directory, one JSON object per line) and printed as a top-N table. Every rule
// reads the whole file: a file has no stream name for LogGroupNames to select by.
package replay

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/sinks/layout"
)

// Config is one replay.
type Config struct {
	Rules []*contrib.Rule
	// Format of the events: decode.JSON or decode.CLF.
	Format decode.Format
	// TimeField locates the event time: a JSON path, or for CLF the 1-based position of the
	// bracketed time field (default "4", Common Log Format's). Values are read by
	// decode.Value.Time: RFC 3339, epoch seconds or milliseconds, CLF time.
	TimeField string
	// Period is the window length (default 60s).
	Period time.Duration
	// Contrib sizes the rules' state (TopN etc.).
	Contrib contrib.Options
	// OutDir receives the reports; empty writes none.
	OutDir string
	Gzip   bool
	// Owner names the report objects (default "replay").
	Owner string
	// MaxOpenWindows bounds the windows held in memory (default 512); past it the earliest
	// are kept in a temporary file until the end (see windowSet).
	MaxOpenWindows int
}

// DefaultMaxOpenWindows is Config.MaxOpenWindows's default: 8.5 hours of one-minute windows.
const DefaultMaxOpenWindows = 512

// Summary counts what a replay read.
type Summary struct {
	Lines     int // non-empty lines read
	Events    int // lines decoded with a usable time
	Malformed int // lines that did not decode
	NoTime    int // lines whose time field was missing or unreadable
	Windows   int // windows written
	// Spilled counts windows moved out of memory (more than MaxOpenWindows at once), Reloaded
	// those read back because a line for them came later.
	Spilled, Reloaded int
	Reports           int // reports written (rules × windows)
	// FirstError describes the first malformed line or unreadable time.
	FirstError string
}

// maxLine bounds one event line.
const maxLine = 16 << 20

type window struct {
	win    pipeline.Window
	states []pipeline.State
}

// Run reads events from in until EOF, writing reports under cfg.OutDir and tables to table.
func Run(cfg Config, in io.Reader, table io.Writer) (Summary, error) {
	var sum Summary
	if len(cfg.Rules) == 0 {
		return sum, errors.New("replay: no rules")
	}
	if cfg.Period <= 0 {
		cfg.Period = time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = "replay"
	}
	if cfg.MaxOpenWindows <= 0 {
		cfg.MaxOpenWindows = DefaultMaxOpenWindows
	}
	if cfg.TimeField == "" {
		if cfg.Format != decode.CLF {
			return sum, errors.New("replay: a time field is required for JSON events")
		}
		cfg.TimeField = "4"
	}
	plan := decode.NewPlan(cfg.Format)
	var ops []*contrib.Operator
	for _, r := range cfg.Rules {
		op, err := contrib.New(r, plan, cfg.Contrib)
		if err != nil {
			return sum, err
		}
		ops = append(ops, op)
	}
	timeIdx, err := plan.Add(cfg.TimeField)
	if err != nil {
		return sum, fmt.Errorf("time field: %w", err)
	}
	dec := plan.NewDecoder()
	vals := make([]decode.Value, plan.Len())
	part := pipeline.Partition{Stream: "replay", ID: "0"}
	windows := newWindowSet(cfg.MaxOpenWindows, func() []pipeline.State {
		states := make([]pipeline.State, len(ops))
		for i, op := range ops {
			states[i] = op.NewState(part)
		}
		return states
	})
	defer windows.close()
	rec := &pipeline.Record{}

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		sum.Lines++
		if err := dec.Decode(line, vals); err != nil {
			sum.Malformed++
			if sum.FirstError == "" {
				sum.FirstError = fmt.Sprintf("line %d: %v", sum.Lines, err)
			}
			continue
		}
		t, err := vals[timeIdx].Time()
		if err != nil {
			sum.NoTime++
			if sum.FirstError == "" {
				sum.FirstError = fmt.Sprintf("line %d: %s: %v", sum.Lines, cfg.TimeField, err)
			}
			continue
		}
		w, err := windows.get(pipeline.WindowOf(t, cfg.Period))
		if err != nil {
			return sum, err
		}
		sum.Events++
		for _, st := range w.states {
			st.Observe(rec, vals)
		}
	}
	sum.Spilled, sum.Reloaded = windows.spills, windows.reloads
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("replay: reading events: %w", err)
	}
	return sum, windows.each(func(w *window) error { return writeWindow(cfg, w, table, &sum) })
}

// writeWindow emits every rule's state for the window, writes the reports and the table.
func writeWindow(cfg Config, w *window, table io.Writer, sum *Summary) error {
	out := &pipeline.Output{Window: w.win, Owner: cfg.Owner}
	for _, st := range w.states {
		st.Emit(w.win, out)
	}
	sum.Windows++
	for _, r := range out.Reports {
		if cfg.OutDir != "" {
			path := filepath.Join(cfg.OutDir, filepath.FromSlash(layout.ReportKey(r.Kind, r.Name, w.win, cfg.Owner, cfg.Gzip)))
			if err := writeJSONLine(path, r.Body, cfg.Gzip); err != nil {
				return err
			}
		}
		sum.Reports++
		if rep, ok := r.Body.(contrib.Report); ok && table != nil {
			printTable(table, rep)
		}
	}
	return nil
}

func writeJSONLine(path string, body any, gz bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	var werr error
	if gz {
		zw := gzip.NewWriter(f)
		_, werr = zw.Write(data)
		werr = errors.Join(werr, zw.Close())
	} else {
		_, werr = f.Write(data)
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replay: writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
