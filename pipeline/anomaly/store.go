package anomaly

import (
	"context"
	"errors"
)

// StateStore keeps the analyzer's detector snapshot between runs, so that what the detectors
// learned survives restarts and partition moves. It is defined here, where it is consumed;
// FileStore keeps it in a local directory; in the worker, the fleet's aggregator gives it one
// that keeps the snapshot inside the aggregator's state object (aggregator.SnapshotStore).
//
// Both methods are called from the aggregator's goroutine (Save between windows, Load once from
// NewAnalyzer), never concurrently by one Analyzer. Save blocks the aggregator while it runs,
// so an implementation must honour ctx's deadline (anomaly.snapshot_timeout).
type StateStore interface {
	// Load returns the data last saved under name, or an error wrapping ErrStateNotFound (or
	// fs.ErrNotExist, so stores in other packages need not import this one) if nothing was.
	Load(ctx context.Context, name string) ([]byte, error)
	// Save replaces the data under name. It must be atomic: a Load after a crash at any
	// instant returns either the old data or the new, never a mix or a truncation.
	Save(ctx context.Context, name string, data []byte) error
}

// ErrStateNotFound is wrapped by StateStore.Load when nothing was saved under a name: the
// analyzer then starts with no series, as on a first run.
var ErrStateNotFound = errors.New("anomaly: state not found")
