package aggregator

import (
	"context"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// PartialReader is what the aggregator reads of the partial store. sinks/s3.PartialStore and
// sinks/file.PartialStore implement it.
type PartialReader interface {
	// ListPartials calls fn with the window start and partition of every partial whose window
	// starts at or after from, in window order, until fn returns false or the partials run out.
	// One listing from a window on answers both "which partitions delivered W" and "which
	// delivered a later window", which is what completeness needs.
	ListPartials(ctx context.Context, from time.Time, fn func(start time.Time, p pipeline.Partition) bool) error
	// ReadPartial returns one partial's bytes; one that does not exist is an error wrapping
	// fs.ErrNotExist.
	ReadPartial(ctx context.Context, start time.Time, p pipeline.Partition) ([]byte, error)
}

// PublishClaimer guards the publishing of a window's metrics: CloudWatch adds duplicates, so a
// window is published only by the aggregator whose claim created the window's marker.
type PublishClaimer interface {
	// ClaimPublish creates w's marker with body unless it exists (S3: PUT with
	// If-None-Match: *; a directory: a link that fails if the name exists). It reports whether
	// the marker is this claimer's: created by this call, or holding exactly body (an earlier
	// call with the same body that failed after the marker was in place).
	ClaimPublish(ctx context.Context, w pipeline.Window, body []byte) (bool, error)
}

// StateStore keeps the aggregator's state object with compare-and-swap.
type StateStore interface {
	// LoadState returns the object saved under name and its version; one never saved is an
	// error wrapping fs.ErrNotExist.
	LoadState(ctx context.Context, name string) (data []byte, version string, err error)
	// SaveState replaces the object if its version is still version ("" means: only if there
	// is none) and returns the new version. saved is false, with a nil error, when the
	// object's version was another: someone else wrote it since.
	SaveState(ctx context.Context, name string, data []byte, version string) (newVersion string, saved bool, err error)
}

// Store is everything the aggregator needs of the shared store.
type Store interface {
	PartialReader
	PublishClaimer
	StateStore
}
