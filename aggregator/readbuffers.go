package aggregator

import (
	"context"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// partialAppender is a PartialReader that reads a partial into a buffer the caller reuses
// (sinks/file's and sinks/s3's stores are): the readers then allocate nothing per partial for
// its bytes. A store without it is read with ReadPartial.
type partialAppender interface {
	AppendPartial(ctx context.Context, dst []byte, start time.Time, p pipeline.Partition) ([]byte, error)
}

// readBuffer is one reader's memory for a partial: its bytes as read, and the Partial they
// decode into (whose operator states are decoded from there into the operators' states, so
// none of it is needed once readOne returns). A demo partition's partial is ~27 KB read and
// ~28 KB of state bytes decoded: reused, they cost nothing per partition.
type readBuffer struct {
	raw     []byte
	partial pipeline.Partial
}

// readBuffers keeps the readers' buffers between windows, at most ReadConcurrency of them (as
// many as read at once); more are dropped to the collector.
type readBuffers chan *readBuffer

func newReadBuffers(readConcurrency int) readBuffers { return make(readBuffers, readConcurrency) }

func (l readBuffers) get() *readBuffer {
	select {
	case b := <-l:
		return b
	default:
		return &readBuffer{}
	}
}

func (l readBuffers) put(b *readBuffer) {
	select {
	case l <- b:
	default:
	}
}
