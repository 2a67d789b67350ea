package kafka_test

import (
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
)

// A stalled sink makes the runners hold batches; when it returns they all come back at once.
// The source's free lists must not keep that memory once no fetch needs it: after the stall and
// the catch-up, an idle worker's lists empty (the trim drops what sat idle for a second).
func TestFreeListsDropWhatAStallLeftIdle(t *testing.T) {
	const parts, perPart = 4, 6000
	c := newCluster(t, parts)
	addrs := c.ListenAddrs()
	produce(t, addrs, parts, 0, perPart, step) // 12 s of event time a partition: windows close

	st := newStore()
	st.Stall(true)
	w := startWorker(t, addrs, "pooltrim", st, workerOpts{})
	waitUntil(t, 20*time.Second, "the runners holding batches behind the stalled sink", func() bool {
		return w.Budget.InUse() > 512<<10
	}, w)
	held := w.Budget.InUse()
	st.Stall(false)
	waitUntil(t, 30*time.Second, "every record processed", func() bool {
		return w.RT.Stats().Records == parts*perPart
	}, w)
	if got := w.src.PooledBytes(); got == 0 {
		t.Fatalf("nothing pooled right after the catch-up (%d bytes were held in the stall): the test shows nothing", held)
	}
	waitUntil(t, 15*time.Second, "the idle worker's free lists emptied", func() bool {
		return w.src.PooledBytes() == 0
	}, w)
	if n := metrictest.Sum(t, w.Reg, "weir_kafka_pool_trimmed_bytes_total", nil); n <= 0 {
		t.Fatalf("weir_kafka_pool_trimmed_bytes_total is %v after the lists emptied", n)
	}
}
