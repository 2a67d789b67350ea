package kinesis

import (
	"context"
	"errors"
	"time"
)

// fenceWrite is one write of a held lease (renew, checkpoint, release, handover, SHARD_END),
// fenced on counter; it returns the new counter and, for renewals, the pending handoff request.
type fenceWrite func(ctx context.Context, counter int64) (next int64, handoff string, err error)

// fencedWrite runs write on h.counter, with h.wmu held, and keeps h.counter in step with the
// table when a write's answer is lost.
//
// A write that timed out or lost its connection may still have been applied: the table's
// counter then moved under this worker's own name, and the next write, fenced on the old
// counter, is refused as if another worker had taken the lease. Giving the lease up there
// would drop the shard's open windows and re-read it from its checkpoint: duplicates without
// any failure, only a slow answer. So, as the KCL does for renewals ("spurious renewal
// failure"), a refusal after such a write reads the lease back, and if it names this worker
// with a counter that only its own unanswered writes can have left, the write is made again
// on that counter. Only this worker writes its name with a counter above the one it holds
// (another worker's take or handover writes its own name), and every unanswered write was
// fenced on h.counter at the time, so at most one of them per counter can have landed:
// h.unanswered bounds the counter they can have reached. Any other row means the lease is
// lost. The loop ends: every round either returns or adopts a higher counter, which takes a
// write of this round that landed unanswered, and ctx bounds how long that can go on.
//
// A write found landed this way renews the lease as much as an answered one: the table's
// counter moved under this worker's name, which is what other workers' expiry watches. So
// h.lastRenew (the worker's own expiry, renewAll) moves to when the earliest unanswered write
// on the adopted counter's predecessor was sent: it cannot have landed before that. Without
// this, a server that applies every write and answers none in time, for LeaseDuration, makes
// the worker give up a lease that nobody else could take, and read its shard again.
func (s *Source) fencedWrite(ctx context.Context, h *held, write fenceWrite) (string, error) {
	for {
		sent := time.Now()
		next, handoff, err := write(ctx, h.counter)
		switch {
		case err == nil:
			h.counter, h.lastRenew, h.unanswered = next, time.Now(), 0
			return handoff, nil
		case !errors.Is(err, errLeaseLost):
			// No answer, or an error whose write may have landed anyway.
			h.noAnswer(sent)
			return "", err
		case errors.Is(err, errLeaseLostUnanswered):
			h.noAnswer(sent)
		}
		if h.unanswered <= h.counter {
			return "", err
		}
		counter, ours, rerr := s.ownCounter(ctx, h)
		if rerr != nil {
			return "", rerr // still unknown: the next write tries again
		}
		if !ours {
			return "", err
		}
		s.m.leaseEvents.WithLabelValues("recovered").Inc()
		s.log.Info("a lease write whose answer was lost had landed; going on from it", "shard", h.shard,
			"counter", counter)
		h.counter = counter
		if h.unansweredSent.After(h.lastRenew) {
			h.lastRenew = h.unansweredSent
		}
	}
}

// noAnswer records a write fenced on h.counter, sent at sent, whose answer was lost: it may
// have moved the counter to h.counter+1. unansweredSent keeps the earliest such send since
// the counter last moved, the earliest the landed one can have landed.
func (h *held) noAnswer(sent time.Time) {
	if h.unanswered <= h.counter {
		h.unansweredSent = sent
	}
	h.unanswered = max(h.unanswered, h.counter+1)
}

// ownCounter reads h's lease back and reports its counter, and whether this worker's own
// unanswered writes left it (see fencedWrite). It scans the table rather than GetItem, the
// IAM policy granting Scan only (README.md); it runs only after a write lost its answer.
func (s *Source) ownCounter(ctx context.Context, h *held) (int64, bool, error) {
	all, err := s.store.list(ctx)
	if err != nil {
		return 0, false, err
	}
	for _, l := range all {
		if l.Shard == h.shard {
			return l.Counter, l.Owner == s.cfg.WorkerID && l.Counter > h.counter && l.Counter <= h.unanswered, nil
		}
	}
	return 0, false, nil
}

// noHandoff adapts the lease store's writes that return no handoff request to fenceWrite.
func noHandoff(next int64, err error) (int64, string, error) { return next, "", err }
