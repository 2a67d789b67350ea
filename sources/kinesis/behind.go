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
type behindReading struct {
	mu sync.Mutex
	ms int64
	at time.Time
}

func (b *behindReading) set(ms int64, at time.Time) {
	b.mu.Lock()
	b.ms, b.at = ms, at
	b.mu.Unlock()
}

// get returns the reading and its time (zero before the first read).
func (b *behindReading) get() (int64, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ms, b.at
}

// millis returns the reading alone.
func (b *behindReading) millis() int64 {
	ms, _ := b.get()
	return ms
}
