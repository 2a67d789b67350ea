package kinesis

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// readiness is what the source knows about whether it can do its work: whether the startup
// checks passed, and when the lease table was last scanned and a shard last read.
type readiness struct {
	started atomic.Bool  // the stream exists and the lease table is usable
	scanned atomic.Int64 // Unix ns of the last successful scan of the lease table
	read    atomic.Int64 // Unix ns of the last successful GetRecords
}

func stamp(v *atomic.Int64) { v.Store(time.Now().UnixNano()) }

// Ready returns why the source cannot do its work at now, or nil: it is ready when the stream
// and the lease table passed the startup checks, the lease table was scanned within the last
// within (every renew interval), and, holding leases, a GetRecords succeeded within the last
// within (an idle shard is polled every poll_interval).
//
// A worker holding no lease after a successful scan is ready: every shard is held by a live
// worker, and it takes over when one goes away or the balance allows. Safe for concurrent
// use.
func (s *Source) Ready(now time.Time, within time.Duration) error {
	if !s.ready.started.Load() {
		return fmt.Errorf("kinesis: checking stream %q and lease table %q", s.cfg.Stream, s.cfg.LeaseTable)
	}
	var errs []error
	if stale := staleness(now, &s.ready.scanned, within); stale != "" {
		errs = append(errs, fmt.Errorf("kinesis: lease table %q not scanned %s", s.cfg.LeaseTable, stale))
	}
	if len(s.Held()) > 0 {
		if stale := staleness(now, &s.ready.read, within); stale != "" {
			errs = append(errs, fmt.Errorf("kinesis: no GetRecords on stream %q has succeeded %s", s.cfg.Stream, stale))
		}
	}
	return errors.Join(errs...)
}

// staleness says how v's stamp fails to be within the last within of now ("yet", "for 42s"),
// or "" when it is recent.
func staleness(now time.Time, v *atomic.Int64, within time.Duration) string {
	t := v.Load()
	if t == 0 {
		return "yet"
	}
	if age := now.Sub(time.Unix(0, t)); age > within {
		return "for " + age.Round(time.Second).String()
	}
	return ""
}
