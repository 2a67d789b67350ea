package kafka

import (
	"context"
	"time"
	"unsafe"
)

// A free list fills with whatever was in flight at its highest: when a stalled sink returns,
// every batch the runners held comes back at once, and the lists keep all of it, though the
// catch-up's fetches need only their usual working set. Pooled slices are live heap, and the
// garbage collector lets the heap grow to twice what is live, so memory the lists keep for no
// fetch costs twice its size in RSS for as long as it is kept (bench/README.md, issue 20).
//
// So every poolTrimEvery each size class gives up the slices no get needed since the last
// trim: the fewest its list held in that time, which sat idle throughout (the way an allocator
// returns the low-water mark of its free pages). A class in use keeps what its fetches cycle
// through; a burst of returns is dropped within two trims; an idle worker's lists empty.

// poolTrimEvery is how often the free lists drop what sat idle. A second is thousands of
// fetches while draining, so what none of them took is surplus; and it is short against the
// seconds a catch-up lasts.
const poolTrimEvery = time.Second

// lower records that class k's list has just given a slice away.
func (p *slicePool[T]) lower(k int) {
	n := int32(len(p.classes[k]))
	for {
		l := p.low[k].Load()
		if n >= l || p.low[k].CompareAndSwap(l, n) {
			return
		}
	}
}

// trim drops, from every class, as many slices as its list held throughout since the last trim,
// and returns the bytes dropped. Gets and puts may run concurrently: a slice one of them moves
// meanwhile is counted in the next interval.
func (p *slicePool[T]) trim() (dropped int64) {
	var zero T
	for k := range p.classes {
		ch := p.classes[k]
	drain:
		for n := p.low[k].Load(); n > 0; n-- {
			select {
			case s := <-ch:
				p.pooled.Add(-int64(cap(s)))
				dropped += int64(cap(s))
			default:
				break drain
			}
		}
		p.low[k].Store(int32(len(ch)))
	}
	return dropped * int64(unsafe.Sizeof(zero))
}

// trimPools trims the source's free lists (the records' slices and franz-go's) and counts what
// they dropped.
func (s *Source) trimPools() {
	n := s.slices.trim() + s.fetch.records.trim() + s.fetch.decompress.trim()
	s.m.poolTrimmed.Add(float64(n))
}

// trimPoolsEvery trims the free lists every interval until ctx ends. It runs beside the poll
// loop rather than in it, because an idle poll blocks until records arrive, and an idle worker
// is the one whose lists should empty.
func (s *Source) trimPoolsEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.trimPools()
		case <-ctx.Done():
			return
		}
	}
}
