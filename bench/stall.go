package main

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// staller makes the partial store stop for a while mid-run, the way a slow disk or an S3
// outage does: once armed, every partial write from the next one on blocks until the stall's
// end (honouring ctx). The runtime must hold the windows, keep memory bounded, and pick up at
// full speed when the store returns.
type staller struct {
	d     time.Duration
	armed chan struct{} // closed by arm
	// snap, if set, is called when the stall begins ("stallbegin") and when the store is about
	// to return ("stallend"), from the write that saw it: -profile writes a heap profile at
	// each, so what the stall adds to the live heap can be told apart by allocation site.
	snap func(label string)

	once  sync.Once
	mu    sync.Mutex
	began time.Time
	until time.Time // began + d
	ended time.Time // set by the first write that returns after until
}

func newStaller(d time.Duration) *staller { return &staller{d: d, armed: make(chan struct{})} }

func (s *staller) arm() { s.once.Do(func() { close(s.armed) }) }

// span returns when the stall began and ended (zero while it has not).
func (s *staller) span() (began, ended time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.began, s.ended
}

func (s *staller) wrap(inner pipeline.PartialWriter) pipeline.PartialWriter {
	return &stallingStore{PartialWriter: inner, s: s}
}

type stallingStore struct {
	pipeline.PartialWriter
	s *staller
}

func (k *stallingStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	select {
	case <-k.s.armed:
		k.s.mu.Lock()
		first := k.s.began.IsZero()
		if first {
			k.s.began = time.Now()
			k.s.until = k.s.began.Add(k.s.d)
		}
		wait := time.Until(k.s.until)
		k.s.mu.Unlock()
		if first && k.s.snap != nil {
			k.s.snap("stallbegin")
		}
		if wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			k.s.mu.Lock()
			last := k.s.ended.IsZero()
			if last {
				k.s.ended = time.Now()
			}
			k.s.mu.Unlock()
			if last && k.s.snap != nil {
				k.s.snap("stallend")
			}
		}
	default:
	}
	return k.PartialWriter.WritePartial(ctx, start, p, body)
}

// stallDue says whether the stall should arm at sample s: once the drain has run for
// StallAfter (when set), or has processed StallAt records, whichever comes first.
func (sp spec) stallDue(s sample) bool {
	return (sp.StallAfter > 0 && s.T >= sp.StallAfter.Seconds()) || s.Records >= sp.StallAt
}

// stallResult is what the stall scenario reports.
type stallResult struct {
	StallSeconds float64 `json:"stall_seconds"`
	// BeganAt and EndedAt are seconds since the first record.
	BeganAt float64 `json:"began_at"`
	EndedAt float64 `json:"ended_at"`
	// SteadyRate is the drain rate before the stall (records/s); RecordsDuringStall how many
	// records the runners still folded while the store was blocked (until the pending-window
	// limit and the budget stopped them).
	SteadyRate         float64 `json:"steady_rate"`
	RecordsDuringStall int64   `json:"records_during_stall"`
	// RSSBeforeBytes is the highest RSS sampled before the stall, RSSDuringBytes the highest
	// from the stall's start to the end of the run (the recovery included); RSSGrowthInRun,
	// their ratio minus one, is the report's target. The store blocks after 5 s of draining
	// (stallAfter), when the heap has reached its working size, so the growth is the stall's
	// (and the catch-up's) alone.
	RSSBeforeBytes int64   `json:"rss_before_bytes"`
	RSSDuringBytes int64   `json:"rss_during_bytes"`
	RSSGrowthInRun float64 `json:"rss_growth_in_run"`
	// RSSStallBytes is the highest RSS while the store was blocked (the recovery left out) and
	// RSSGrowthStall its ratio to RSSBeforeBytes minus one: what the stall itself holds, which
	// the budget bounds. The rest of RSSGrowthInRun is the catch-up's, whose heap the collector
	// lets grow to twice what was live at its last collection.
	RSSStallBytes  int64   `json:"rss_stall_bytes"`
	RSSGrowthStall float64 `json:"rss_growth_stall"`
	// InFlightPeakBytes is the highest in-flight usage sampled during the stall, against the
	// budget (the source may overshoot it by one fetch, by design).
	InFlightPeakBytes int64 `json:"inflight_peak_bytes"`
	BudgetBytes       int64 `json:"budget_bytes"`
	// AtBegin is the last sample before the stall, AtEnd the last before the store returned,
	// AtPeak the one with RSSDuringBytes: their heap figures say what the growth was made of.
	// GoSoftLimitBytes is the Go runtime's soft memory limit during the run (0: none, as
	// without a container limit or -memory-limit).
	GoSoftLimitBytes int64  `json:"go_soft_limit_bytes,omitempty"`
	AtBegin          sample `json:"at_begin"`
	AtEnd            sample `json:"at_end"`
	AtPeak           sample `json:"at_peak"`
	// LiveBefore and LiveAfter are the live heap the collections left, from half a second into
	// the drain to the stall, and from the store's return to the end (a collection counts once
	// a sample sees it): how the catch-up's heap compares with the drain's before the stall,
	// collection for collection.
	LiveBefore liveAtCollections `json:"live_before"`
	LiveAfter  liveAtCollections `json:"live_after"`
	// RecoverySeconds is the time from the store returning to the first 0.5 s in which the
	// drain ran at ≥ 90% of SteadyRate; -1 if the backlog ran out first. PostStallRate is the
	// mean rate from the store returning to the end of the drain.
	RecoverySeconds float64 `json:"recovery_seconds"`
	PostStallRate   float64 `json:"post_stall_rate"`
}

// analyze reads the stall out of a run's series.
func (s *staller) analyze(first time.Time, series []sample, budget int64) *stallResult {
	began, ended := s.span()
	if began.IsZero() || ended.IsZero() || len(series) == 0 {
		return nil
	}
	r := &stallResult{StallSeconds: ended.Sub(began).Seconds(), BeganAt: began.Sub(first).Seconds(),
		EndedAt: ended.Sub(first).Seconds(), BudgetBytes: budget, RecoverySeconds: -1}
	// The steady rate leaves out the first half second (fetch sessions and windows warming up).
	var warm, atBegin, atEnd sample
	for _, p := range series {
		switch {
		case p.T < r.BeganAt:
			if warm.T == 0 && p.T >= min(0.5, r.BeganAt/2) {
				warm = p
			}
			r.RSSBeforeBytes = max(r.RSSBeforeBytes, p.RSS)
			atBegin = p
		default:
			if p.RSS > r.RSSDuringBytes {
				r.RSSDuringBytes, r.AtPeak = p.RSS, p
			}
			if p.T <= r.EndedAt {
				r.RSSStallBytes = max(r.RSSStallBytes, p.RSS)
				r.InFlightPeakBytes = max(r.InFlightPeakBytes, p.InFlight)
				atEnd = p
			}
		}
	}
	if atBegin.T > warm.T {
		r.SteadyRate = float64(atBegin.Records-warm.Records) / (atBegin.T - warm.T)
	}
	r.RecordsDuringStall = atEnd.Records - atBegin.Records
	r.LiveBefore = collectionsLive(series, warm.T, r.BeganAt)
	r.LiveAfter = collectionsLive(series, r.EndedAt, math.Inf(1))
	r.AtBegin, r.AtEnd = atBegin, atEnd
	if r.RSSBeforeBytes > 0 {
		r.RSSGrowthInRun = float64(r.RSSDuringBytes)/float64(r.RSSBeforeBytes) - 1
		r.RSSGrowthStall = float64(r.RSSStallBytes)/float64(r.RSSBeforeBytes) - 1
	}
	last := series[len(series)-1]
	if last.T > r.EndedAt {
		r.PostStallRate = float64(last.Records-atEnd.Records) / (last.T - r.EndedAt)
	}
	// Recovery: slide a 0.5 s window that starts no earlier than the store's return.
	const span = 0.5
	for i, p := range series {
		if p.T < r.EndedAt+0.2 {
			continue
		}
		j := i
		for j > 0 && series[j-1].T >= max(r.EndedAt, p.T-span) {
			j--
		}
		if j == i {
			continue
		}
		q := series[j]
		if float64(p.Records-q.Records)/(p.T-q.T) >= 0.9*r.SteadyRate {
			r.RecoverySeconds = p.T - r.EndedAt
			break
		}
	}
	return r
}
