package scaling

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/weirstream/weir/load"
)

// LoadReader is what the sizing reads of the store: one period's load reports.
// sinks/s3.PartialStore and sinks/file.PartialStore implement it.
type LoadReader interface {
	// ListLoads calls fn with the worker of every report of the period starting at start.
	ListLoads(ctx context.Context, start time.Time, fn func(worker string) bool) error
	// ReadLoad returns one report; a missing one wraps fs.ErrNotExist.
	ReadLoad(ctx context.Context, start time.Time, worker string) ([]byte, error)
}

// SourceView is the source's own view of the whole stream, beyond what the workers report.
// Kafka: every partition of the topics with its end offset (ListOffsets) and the group's
// committed offset; Kinesis: every shard still to be read, without offsets.
type SourceView interface {
	Partitions(ctx context.Context) ([]PartitionOffsets, error)
}

// Sizer measures the fleet once per period for the aggregator: it reads the load reports of
// the period that just ended and asks the source for its view, keeping the previous view so
// that the Kafka arrival rate is the growth of the end offsets between two. It is used by one
// goroutine (the Publisher's).
type Sizer struct {
	Config Config
	Loads  LoadReader
	Source SourceView
	// Hold is the window period plus the allowed lateness (see Evidence.Hold).
	Hold time.Duration
	// Clock stamps each view of the source with when it was read; nil: time.Now. The rate is
	// the growth of the end offsets over the time between two reads, not between two ticks: a
	// ListOffsets (or the listing of the reports before it) that is slow on one tick and not
	// on the next would otherwise read as a burst or a lull that never happened.
	Clock func() time.Time

	prev   []PartitionOffsets
	prevAt time.Time
}

// readConcurrency bounds the reports read at once.
const readConcurrency = 8

// Prime takes the source's view now, so that the first Measure has an earlier one to compare
// with. A failure is returned and is harmless: the first Measure then uses the processed rate.
func (s *Sizer) Prime(ctx context.Context) error {
	v, at, err := s.view(ctx)
	if err != nil {
		return err
	}
	s.prev, s.prevAt = v, at
	return nil
}

// view asks the source for its view and stamps it with the middle of the call: the offsets
// were read at some moment during it, and the middle is off by at most half the call's
// duration whichever end the slowness was at (a request waiting for a connection, or an
// answer waiting for the CPU).
func (s *Sizer) view(ctx context.Context) ([]PartitionOffsets, time.Time, error) {
	now := s.Clock
	if now == nil {
		now = time.Now
	}
	sent := now()
	v, err := s.Source.Partitions(ctx)
	got := now()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("scaling: the source's view: %w", err)
	}
	return v, sent.Add(got.Sub(sent) / 2), nil
}

// Measure reads the load reports of the last period that ended at or before now and the
// source's view (stamped by Clock, see view), and returns the Inputs (see Measure) with what it saw. An error means the
// reports could not be listed: there is nothing to size from. A source that cannot be asked
// is not an error: the reports stand in (Detail.ArrivalFrom says so), and the failure is
// returned as sourceErr for the caller to log.
func (s *Sizer) Measure(ctx context.Context, now time.Time) (in Inputs, det Detail, sourceErr, err error) {
	p := s.Config.Period
	start := now.Truncate(p).Add(-p)
	reports, invalid, err := s.reports(ctx, start)
	if err != nil {
		return Inputs{}, Detail{}, nil, err
	}
	ev := Evidence{Period: p, Reports: reports, Hold: s.Hold}
	view, at, serr := s.view(ctx)
	if serr != nil {
		sourceErr = serr
	} else {
		ev.Partitions = view
		// End offsets compared over less than half a period (a term that began just before
		// this tick) would make one burst look like the period's rate: keep the earlier view
		// until it is old enough, and let the processed rate stand in meanwhile.
		switch elapsed := at.Sub(s.prevAt); {
		case s.prev == nil:
			s.prev, s.prevAt = view, at
		case elapsed >= p/2:
			ev.Before, ev.Elapsed = s.prev, elapsed
			s.prev, s.prevAt = view, at
		}
	}
	in, det = Measure(ev, s.Config)
	det.PeriodStart, det.Invalid = start.UTC(), invalid
	return in, det, sourceErr, nil
}

// reports lists and reads the period's reports, a few at a time. A report that cannot be
// decoded is counted and left out (one bad object must not stop the sizing); one that
// vanished between the listing and the read is left out.
func (s *Sizer) reports(ctx context.Context, start time.Time) ([]*load.Report, int, error) {
	var workers []string
	if err := s.Loads.ListLoads(ctx, start, func(w string) bool { workers = append(workers, w); return true }); err != nil {
		return nil, 0, fmt.Errorf("scaling: listing the load reports: %w", err)
	}
	out := make([]*load.Report, len(workers))
	readErrs := make([]error, len(workers))
	bad := make([]bool, len(workers))
	gate := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		gate <- struct{}{}
		go func() {
			defer func() { <-gate; wg.Done() }()
			b, err := s.Loads.ReadLoad(ctx, start, w)
			if err != nil {
				readErrs[i] = err
				return
			}
			out[i], err = load.Decode(b)
			bad[i] = err != nil
		}()
	}
	wg.Wait()
	reports := make([]*load.Report, 0, len(out))
	invalid := 0
	for i, r := range out {
		switch err := readErrs[i]; {
		case bad[i]:
			invalid++
		case err == nil:
			reports = append(reports, r)
		case errors.Is(err, fs.ErrNotExist):
		case ctx.Err() != nil:
			return nil, 0, ctx.Err()
		default:
			return nil, 0, fmt.Errorf("scaling: reading the load report of %q: %w", workers[i], err)
		}
	}
	return reports, invalid, nil
}
