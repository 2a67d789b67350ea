// Package replay evaluates contributor rules against a log file: the way a user tries rules
// before deploying them, and the way weir's accuracy is checked end to end. Events are
// newline-delimited JSON or CLF lines; each is assigned to a tumbling window by its event
// time, folded into one contrib State per rule and window, and every closed window's reports
// are written as the file sink writes them (sinks/layout keys under a directory, one JSON
// object per line) and printed as a top-N table. Every rule reads the whole file: a file has
// no stream name for LogGroupNames to select by.
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
	"sort"
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
}

// Summary counts what a replay read.
type Summary struct {
	Lines     int // non-empty lines read
	Events    int // lines decoded with a usable time
	Malformed int // lines that did not decode
	NoTime    int // lines whose time field was missing or unreadable
	Late      int // events for a window already written (more than one period late)
	Windows   int // windows written
	Reports   int // reports written (rules × windows)
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
	open := map[int64]*window{}
	var watermark time.Time
	var flushedUpTo time.Time // windows ending at or before this are written
	rec := &pipeline.Record{}

	flush := func(upTo time.Time, all bool) error {
		var keys []int64
		for k, w := range open {
			if all || !w.win.End.After(upTo) {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			w := open[k]
			delete(open, k)
			if err := writeWindow(cfg, w, table, &sum); err != nil {
				return err
			}
			if w.win.End.After(flushedUpTo) {
				flushedUpTo = w.win.End
			}
		}
		return nil
	}

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
		win := pipeline.WindowOf(t, cfg.Period)
		if !win.End.After(flushedUpTo) && !flushedUpTo.IsZero() {
			sum.Late++
			continue
		}
		key := win.Start.UnixNano()
		w := open[key]
		if w == nil {
			w = &window{win: win}
			for _, op := range ops {
				w.states = append(w.states, op.NewState(pipeline.Partition{Stream: "replay", ID: "0"}))
			}
			open[key] = w
		}
		sum.Events++
		for _, st := range w.states {
			st.Observe(rec, vals)
		}
		if t.After(watermark) {
			watermark = t
			// A window is written once events are a full period past its end.
			if err := flush(watermark.Add(-cfg.Period), false); err != nil {
				return sum, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("replay: reading events: %w", err)
	}
	return sum, flush(time.Time{}, true)
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
