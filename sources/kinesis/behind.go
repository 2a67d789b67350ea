package kinesis

import (
	"sync"
	"time"
)

// behindReading is a shard's MillisBehindLatest from its last GetRecords and when that call
// was answered. The fleet's sizing takes the reader's progress through the stream from two
// readings and the time between them; a reader held up by a full pipeline reads rarely, so a
// reading can be seconds older than the load report that carries it. The two are read
// together (a reading with another read's time would be a false stretch): hence the lock,
// taken once per GetRecords and once per report.
//
// Before the lease's first GetRecords answers there is no reading, and get says so (ok false)
// rather than answer 0: a shard just taken (after a kill, a rebalance, a reshard) can be far
// behind, and its first read can take many seconds (throttling, a slow iterator), while 0 ms
// is what a caught-up shard reports. Every reader of the reading (Lag, MillisBehind, the lag
// sampler) passes the unknown on.
type behindReading struct {
	mu sync.Mutex
	ms int64
	at time.Time // zero until the first GetRecords answered
}

func (b *behindReading) set(ms int64, at time.Time) {
	b.mu.Lock()
	b.ms, b.at = ms, at
	b.mu.Unlock()
}

// get returns the reading and its time; ok is false before the first read.
func (b *behindReading) get() (ms int64, at time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ms, b.at, !b.at.IsZero()
}

// millis returns the reading alone; ok is false before the first read.
func (b *behindReading) millis() (int64, bool) {
	ms, _, ok := b.get()
	return ms, ok
}
