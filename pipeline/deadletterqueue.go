package pipeline

import "time"

// deadLetterQueue carries dead letters from the runners to the DeadLetterSink. Letters are
// written in groups (up to deadLetterBatch letters or deadLetterBatchBytes, or whatever arrived
// within deadLetterLinger) so a burst of bad records costs few object writes; each letter's hold
// is released only after the write is durable, so the commit point never passes an unwritten
// dead letter.
type deadLetterQueue struct {
	rt    *Runtime
	sink  DeadLetterSink
	queue chan queuedLetter
	done  chan struct{}
}

type queuedLetter struct {
	dl    DeadLetter
	holds *holds
	hold  uint64
	bytes int64
}

// The writer is one goroutine and each write waits for the sink (a file, an S3 object), so
// when every record is bad the batch size sets the pace: with 500 letters a write, a flood
// drained at ~80-95 k records/s in the bench (file sink); with 10,000, ~180 k. The byte cap
// bounds a batch of large records (its letters stay charged to the budget until written).
const (
	deadLetterQueueLen   = 256
	deadLetterBatch      = 10000
	deadLetterBatchBytes = 8 << 20
	deadLetterLinger     = time.Second
)

func newDeadLetterQueue(rt *Runtime, sink DeadLetterSink) *deadLetterQueue {
	return &deadLetterQueue{rt: rt, sink: sink, queue: make(chan queuedLetter, deadLetterQueueLen), done: make(chan struct{})}
}

// enqueue queues a letter, blocking while the queue is full. It returns false if stop closed
// first. The letter's bytes are charged to the budget until written.
func (q *deadLetterQueue) enqueue(dl DeadLetter, h *holds, id uint64, stop <-chan struct{}) bool {
	n := int64(len(dl.Key) + len(dl.Value) + len(dl.Detail))
	q.rt.budget.Charge(n)
	ql := queuedLetter{dl: dl, holds: h, hold: id, bytes: n}
	select {
	case q.queue <- ql:
		return true
	default:
	}
	select {
	case q.queue <- ql:
		return true
	case <-stop:
		q.rt.budget.Release(n)
		return false
	}
}

func (q *deadLetterQueue) run() {
	defer close(q.done)
	var batch []queuedLetter
	letters := make([]DeadLetter, 0, 64)
	for {
		first, ok := <-q.queue
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		size := first.bytes
		linger := time.NewTimer(deadLetterLinger)
	collect:
		for len(batch) < deadLetterBatch && size < deadLetterBatchBytes {
			select {
			case ql, ok := <-q.queue:
				if !ok {
					break collect
				}
				batch = append(batch, ql)
				size += ql.bytes
			case <-linger.C:
				break collect
			}
		}
		linger.Stop()
		letters = letters[:0]
		for _, ql := range batch {
			letters = append(letters, ql.dl)
		}
		if !q.write(letters) {
			// Shutting down: the letters stay held, so their records are read again.
			for _, ql := range batch {
				q.rt.budget.Release(ql.bytes)
			}
			continue
		}
		for _, ql := range batch {
			ql.holds.release(ql.hold)
			q.rt.budget.Release(ql.bytes)
		}
	}
}

func (q *deadLetterQueue) write(letters []DeadLetter) bool {
	return retryUntil(q.rt.sinkCtx, func() error {
		return q.sink.WriteDeadLetters(q.rt.sinkCtx, letters)
	}, func(attempt int, err error) {
		q.rt.metrics.sinkErrors.WithLabelValues("deadletter").Inc()
		q.rt.stats.sinkErrors.Add(1)
		q.rt.log.Warn("dead-letter write failed; retrying", "letters", len(letters), "attempt", attempt, "err", err)
	})
}
