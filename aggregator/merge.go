package aggregator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
)

// folded is one window's partials merged, operator by operator.
type folded struct {
	// states holds each operator's merged state (indexed like Options.Operators); nil where
	// no partial had one, or the operator failed.
	states []pipeline.State
	// failed says why an operator failed ("" where it did not).
	failed  []string
	summary Summary
	ended   []pipeline.Partition
}

// decoded is one partial, read and decoded (on a reader goroutine).
type decoded struct {
	p pipeline.Partition
	// records, bytes, dropped and ended are the partial's own counts; its operators' states
	// are in states (the Partial itself is the reader's, decoded into again for the next).
	records, bytes int64
	dropped        pipeline.DropCounts
	ended          bool
	states         []pipeline.State // indexed like Options.Operators
	stateErr       []error
	foreign        []pipeline.OpState // states of another configuration, or of an unknown operator
	invalid        error              // the partial cannot be used at all
	readErr        error              // the store failed: the merge is retried later
}

// fold reads the partials of w from parts (in that order, which is ComparePartitions order)
// and merges them. States are merged in that order whatever order the reads complete in, so
// the same partials always give the same result, byte for byte.
//
// Reads run ReadConcurrency at a time and at most twice that many decoded partials wait to be
// merged, which bounds memory whatever the number of partitions.
func (a *Aggregator) fold(ctx context.Context, w pipeline.Window, parts []pipeline.Partition) (*folded, error) {
	f := &folded{
		states: make([]pipeline.State, len(a.ops)),
		failed: make([]string, len(a.ops)),
		summary: Summary{WindowStart: rfc3339(w.Start), WindowEnd: rfc3339(w.End),
			Missing: []string{}},
	}
	mismatch := map[[2]string]*Mismatch{}
	err := a.readAll(ctx, w, parts, func(d *decoded) error {
		if d.readErr != nil {
			return d.readErr
		}
		if d.invalid != nil {
			a.m.invalid.Inc()
			f.summary.Invalid = append(f.summary.Invalid, Problem{Name: d.p.String(), Error: d.invalid.Error()})
			return nil
		}
		f.summary.Partitions++
		f.summary.Records += d.records
		f.summary.Bytes += d.bytes
		for reason, n := range d.dropped {
			if f.summary.Dropped == nil {
				f.summary.Dropped = map[string]int64{}
			}
			f.summary.Dropped[reason] += n
		}
		if d.ended {
			f.ended = append(f.ended, d.p)
		}
		for i, st := range d.states {
			switch {
			case f.failed[i] != "":
			case d.stateErr[i] != nil:
				f.fail(a, i, fmt.Sprintf("%s: %v", d.p, d.stateErr[i]))
			case st == nil:
			case f.states[i] == nil:
				f.states[i] = st
			default:
				if err := f.states[i].Merge(st); err != nil {
					f.fail(a, i, fmt.Sprintf("merging %s: %v", d.p, err))
				} else {
					a.free.put(i, st)
				}
			}
		}
		for _, os := range d.foreign {
			a.m.configMismatch.WithLabelValues(os.Name).Inc()
			k := [2]string{os.Name, os.Config}
			if mismatch[k] == nil {
				mismatch[k] = &Mismatch{Operator: os.Name, Config: os.Config}
			}
			mismatch[k].Partitions = append(mismatch[k].Partitions, d.p.String())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range slices.SortedFunc(maps.Keys(mismatch), func(x, y [2]string) int {
		return strings.Compare(x[0]+"\x00"+x[1], y[0]+"\x00"+y[1])
	}) {
		f.summary.ConfigMismatch = append(f.summary.ConfigMismatch, *mismatch[k])
	}
	f.summary.Ended = names(f.ended)
	if len(f.summary.Ended) == 0 {
		f.summary.Ended = nil
	}
	return f, nil
}

// fail marks operator i failed for the window: its state is dropped, never emitted half-merged.
func (f *folded) fail(a *Aggregator, i int, why string) {
	f.failed[i] = why
	f.states[i] = nil
	a.m.mergeErrors.WithLabelValues(a.ops[i].Name()).Inc()
	f.summary.FailedOperators = append(f.summary.FailedOperators, Problem{Name: a.ops[i].Name(), Error: why})
}

// output emits the merged states and the fleet summary into a new Output. The Owner is empty:
// every aggregator writes the same report keys.
func (a *Aggregator) output(w pipeline.Window, f *folded) *pipeline.Output {
	out := &pipeline.Output{Window: w}
	for _, st := range f.states {
		if st != nil {
			st.Emit(w, out)
		}
	}
	out.Reports = append(out.Reports, pipeline.Report{Kind: "summary", Name: SummaryName, Body: f.summary})
	return out
}

// readAll reads and decodes the partials of w from parts, ReadConcurrency at a time, and
// hands them to each in the order of parts. It stops at the first error each returns.
func (a *Aggregator) readAll(ctx context.Context, w pipeline.Window, parts []pipeline.Partition, each func(*decoded) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	results := make([]chan *decoded, len(parts))
	for i := range results {
		results[i] = make(chan *decoded, 1)
	}
	ahead := make(chan struct{}, 2*a.cfg.ReadConcurrency)
	jobs := make(chan int)
	for range min(a.cfg.ReadConcurrency, len(parts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := a.bufs.get()
			defer a.bufs.put(buf)
			for i := range jobs {
				results[i] <- a.readOne(ctx, w, parts[i], buf)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range parts {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range parts {
		var d *decoded
		select {
		case d = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-ahead
		if err := each(d); err != nil {
			return err
		}
	}
	return nil
}

// readOne reads and decodes p's partial of w, in buf's memory: nothing of the result refers
// to it, so buf is free again when readOne returns.
func (a *Aggregator) readOne(ctx context.Context, w pipeline.Window, p pipeline.Partition, buf *readBuffer) *decoded {
	d := &decoded{p: p}
	var b []byte
	var err error
	if ap, ok := a.store.(partialAppender); ok {
		b, err = ap.AppendPartial(ctx, buf.raw[:0], w.Start, p)
		if cap(b) > cap(buf.raw) {
			buf.raw = b[:0]
		}
	} else {
		b, err = a.store.ReadPartial(ctx, w.Start, p)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Listed, then gone (a lifecycle rule?): nothing to wait for.
			d.invalid = errors.New("listed but not found")
		} else {
			a.m.errors.WithLabelValues(opRead).Inc()
			d.readErr = err
		}
		return d
	}
	a.m.partialsRead.Inc()
	pt := &buf.partial
	if err := pipeline.DecodePartialInto(b, pt); err != nil {
		d.invalid = err
		return d
	}
	if pt.Source() != p || pt.Start != w.Start.UnixNano() || pt.End != w.End.UnixNano() {
		d.invalid = fmt.Errorf("the partial is of %s window [%s, %s), its key says %s window %s of period %v",
			pt.Source(), rfc3339(unixTime(pt.Start)), rfc3339(unixTime(pt.End)), p, rfc3339(w.Start), w.End.Sub(w.Start))
		return d
	}
	d.records, d.bytes, d.ended = pt.Records, pt.Bytes, pt.Ended
	if len(pt.Dropped) > 0 {
		d.dropped = maps.Clone(pt.Dropped) // pt's map is decoded into again
	}
	d.states = make([]pipeline.State, len(a.ops))
	d.stateErr = make([]error, len(a.ops))
	for _, os := range pt.Ops {
		i, ok := a.opIndex[os.Name]
		if !ok || os.Config != a.opConfig[i] {
			d.foreign = append(d.foreign, pipeline.OpState{Name: os.Name, Config: os.Config})
			continue
		}
		// A state merged into an earlier window's or partial's result, emptied, if one is
		// free: decoding replaces everything it held.
		st := a.free.get(i)
		if st == nil {
			st = a.ops[i].NewState(p)
		}
		if err := msgpack.Unmarshal(os.State, st); err != nil {
			d.stateErr[i] = err
			continue
		}
		d.states[i] = st
	}
	return d
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
