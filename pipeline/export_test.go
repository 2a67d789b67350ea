package pipeline

import "time"

// SetTickEvery sets how often a runtime's runners look at the clock when no records come
// (before any Assign): tests that move a settable Clock tick in milliseconds of real time.
func SetTickEvery(rt *Runtime, d time.Duration) { rt.tickEvery = d }

// SetDeadLetterLinger sets how long the dead-letter writer waits to batch letters (before
// Start): tests that wait for commit points behind dead letters need not wait a second each.
func SetDeadLetterLinger(rt *Runtime, d time.Duration) { rt.deadLetters.linger = d }

// QueuedPartials counts the closed windows waiting in p's writer queue that still hold their
// operators' states, and those encoded already. Only while the writer is blocked in a write:
// it takes the queue apart and puts it back in order.
func QueuedPartials(rt *Runtime, p Partition) (withStates, encoded int) {
	rt.mu.Lock()
	r := rt.runners[p]
	rt.mu.Unlock()
	var held []*closedWindow
	for len(r.writer.queue) > 0 {
		cw := <-r.writer.queue
		held = append(held, cw)
		switch {
		case cw.states != nil:
			withStates++
		case cw.body != nil:
			encoded++
		}
	}
	for _, cw := range held {
		r.writer.queue <- cw
	}
	return withStates, encoded
}

// LookedAt is the wall time p's runner last read the clock at (a tick or a batch with
// records): tests moving a settable clock wait for it before moving it again.
func LookedAt(rt *Runtime, p Partition) time.Time {
	rt.mu.Lock()
	r := rt.runners[p]
	rt.mu.Unlock()
	return time.Unix(0, r.looked.Load())
}
