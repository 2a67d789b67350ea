package pipeline

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"
)

// letterGroup is a run of dead letters of one partition, from one batch: the letters take one
// hold together (at the first of them), released once all of them are durable. One hold per
// letter made a flood of bad records behind an open window cost a hold, and memory, per record
// until the window was durable; a group costs one, and a letter's key and value are copied into
// the group's arena, not each into its own allocation.
type letterGroup struct {
	ack     ack
	letters []DeadLetter
	arena   []byte // the current chunk the letters' keys and values are copied into
	bytes   int64  // charged to the budget until written
}

// A group is sealed (queued) at the end of its batch, or once it holds maxGroupLetters letters
// or maxGroupBytes of keys and values, so a hold never waits on an unbounded run.
const (
	maxGroupLetters = 1024
	maxGroupBytes   = 256 << 10
	arenaChunk      = 64 << 10
)

func (g *letterGroup) full() bool {
	return len(g.letters) >= maxGroupLetters || g.bytes >= maxGroupBytes
}

// copyIn returns b copied into the group's arena (nil stays nil).
func (g *letterGroup) copyIn(b []byte) []byte {
	if b == nil {
		return nil
	}
	if len(b) > arenaChunk/4 {
		return append([]byte(nil), b...)
	}
	if cap(g.arena)-len(g.arena) < len(b) {
		// Chunks double from a small first one: most batches have a handful of bad records,
		// a flood fills 64 KiB chunks.
		g.arena = make([]byte, 0, min(max(2*cap(g.arena), 4*len(b), 1<<10), arenaChunk))
	}
	start := len(g.arena)
	g.arena = append(g.arena, b...)
	return g.arena[start:len(g.arena):len(g.arena)]
}

// deadLetterQueue carries letter groups from the runners to the DeadLetterSink. Groups are
// written together (up to deadLetterBatch letters or deadLetterBatchBytes, or whatever arrived
// within deadLetterLinger), across partitions, so a burst of bad records costs few object
// writes (the file and S3 sinks make one object per stream of a write); a group's hold is
// released only after the write is durable, so the commit point never passes an unwritten dead
// letter. One goroutine collects writes while up to deadLetterWriters others wait for the sink
// to make earlier ones durable: a write's round trip (an S3 PUT, a file's fsyncs) is mostly
// waiting, and with one goroutine doing everything the runners stopped for each one.
type deadLetterQueue struct {
	rt     *Runtime
	sink   DeadLetterSink
	linger time.Duration // deadLetterLinger; tests shorten it
	queue  chan *letterGroup
	writes chan []*letterGroup
	done   chan struct{}
	// flush cuts the current collection short (flushSoon): a Revoke waits for the partition's
	// letters, and the linger would otherwise add up to a second to every revoke behind one.
	flush chan struct{}
}

// The queue holds groups, each charged to the budget, so the budget (a full one pauses the
// sources) bounds what waits here; the count bounds only the slots.
const (
	deadLetterWriters    = 4
	deadLetterQueueLen   = 256
	deadLetterBatch      = 10000
	deadLetterBatchBytes = 8 << 20
	deadLetterLinger     = time.Second
)

func newDeadLetterQueue(rt *Runtime, sink DeadLetterSink) *deadLetterQueue {
	return &deadLetterQueue{rt: rt, sink: sink, linger: deadLetterLinger, queue: make(chan *letterGroup, deadLetterQueueLen),
		writes: make(chan []*letterGroup), done: make(chan struct{}), flush: make(chan struct{}, 1)}
}

// flushSoon has the groups queued so far written without waiting out the linger: the group
// being collected is handed to a writer at once, and if none is, the next one is. It never
// blocks.
func (q *deadLetterQueue) flushSoon() {
	select {
	case q.flush <- struct{}{}:
	default:
	}
}

// enqueue queues a group, blocking while the queue is full. It returns false if stop closed
// first. The group's bytes are charged to the budget until written.
func (q *deadLetterQueue) enqueue(g *letterGroup, stop <-chan struct{}) bool {
	q.rt.budget.Charge(g.bytes)
	select {
	case q.queue <- g:
		return true
	default:
	}
	select {
	case q.queue <- g:
		return true
	case <-stop:
		q.rt.budget.Release(g.bytes)
		return false
	}
}

// run collects groups into writes until the queue is closed, then waits for the last write.
func (q *deadLetterQueue) run() {
	var writers sync.WaitGroup
	for range deadLetterWriters {
		writers.Go(q.writeAll)
	}
	defer func() {
		close(q.writes)
		writers.Wait()
		close(q.done)
	}()
	for {
		first, ok := <-q.queue
		if !ok {
			return
		}
		batch := []*letterGroup{first}
		n, size := len(first.letters), first.bytes
		linger := time.NewTimer(q.linger)
	collect:
		for n < deadLetterBatch && size < deadLetterBatchBytes {
			select {
			case g, ok := <-q.queue:
				if !ok {
					break collect
				}
				batch = append(batch, g)
				n += len(g.letters)
				size += g.bytes
			case <-linger.C:
				break collect
			case <-q.flush:
				break collect
			}
		}
		linger.Stop()
		q.writes <- batch
	}
}

// writeAll writes each collected batch and releases its groups' holds once it is durable.
func (q *deadLetterQueue) writeAll() {
	var letters []DeadLetter
	for batch := range q.writes {
		// Each stream's and partition's letters together and in order (groups of a partition
		// are queued in order, and the sort is stable): the file and S3 sinks write an object
		// per stream of them as they are, and the same letters always in the same order, so
		// a retried write gives the same bytes.
		slices.SortStableFunc(batch, func(a, b *letterGroup) int {
			return cmp.Or(strings.Compare(a.letters[0].Partition.Stream, b.letters[0].Partition.Stream),
				strings.Compare(a.letters[0].Partition.ID, b.letters[0].Partition.ID))
		})
		letters = letters[:0]
		for _, g := range batch {
			letters = append(letters, g.letters...)
		}
		written := q.write(letters)
		clear(letters) // the letters' memory goes with their groups
		for _, g := range batch {
			if written {
				g.ack.durable()
			} else {
				// Shutting down unwritten: the group stays held, so its records are read again.
				g.ack.abandon()
			}
			q.rt.budget.Release(g.bytes)
		}
	}
}
func (q *deadLetterQueue) write(letters []DeadLetter) bool {
	health := q.rt.sinkHealth[len(q.rt.sinkHealth)-1]
	return retryUntil(q.rt.sinkCtx, func() error {
		err := q.sink.WriteDeadLetters(q.rt.sinkCtx, letters)
		if err == nil {
			health.succeeded()
		}
		return err
	}, func(attempt int, err error) {
		health.failed(err)
		q.rt.metrics.sinkErrors.WithLabelValues("deadletter").Inc()
		q.rt.stats.sinkErrors.Add(1)
		q.rt.log.Warn("dead-letter write failed; retrying", "letters", len(letters), "attempt", attempt, "err", err)
	})
}
