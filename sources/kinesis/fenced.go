package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// fenceWrite is one write of a held lease (renew, checkpoint, release, handover, SHARD_END),
// fenced on counter; it returns the new counter and, for renewals, the pending handoff request.
type fenceWrite func(ctx context.Context, counter int64) (next int64, handoff string, err error)

// fencedWrite runs write on h.counter, with h.wmu held, and keeps h.counter in step with the
// table when a write's answer is lost. budget, if above 0, bounds each write from when it is
// sent; ctx bounds the whole call.
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
// write of this round that landed unanswered, and maxWriteRounds bounds how often.
//
// A write found landed this way renews the lease as much as an answered one: the table's
// counter moved under this worker's name, which is what other workers' expiry watches. So
// h.lastRenew (the worker's own expiry, renewAll) moves to when the earliest unanswered write
// on the adopted counter's predecessor was sent: it cannot have landed before that. Without
// this, a server that applies every write and answers none in time, for LeaseDuration, makes
// the worker give up a lease that nobody else could take, and read its shard again.
func (s *Source) fencedWrite(ctx context.Context, h *held, budget time.Duration, write fenceWrite) (string, error) {
	for round := 1; ; round++ {
		sent := time.Now()
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			wctx, cancel = context.WithTimeout(ctx, budget)
		}
		next, handoff, err := write(wctx, h.counter)
		cancel()
		switch {
		case err == nil:
			// The write renews from when it was sent, not from when its answer came: it may have
			// landed at any point between the two, and other workers time the lease's expiry from
			// when they saw its counter move, so counting from the answer would have this worker
			// believe it holds the lease for up to a round trip after another may take it.
			h.counter, h.lastRenew, h.unanswered = next, sent, 0
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
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if budget > 0 {
			rctx, cancel = context.WithDeadline(ctx, s.readBackDeadline(h))
		}
		counter, ours, rerr := s.ownCounter(rctx, h)
		cancel()
		if rerr != nil {
			return "", rerr // still unknown: the next write tries again
		}
		if !ours {
			return "", err
		}
		s.adopt(h, counter)
		if round == maxWriteRounds {
			// Every write of this call landed unanswered: leave the next to the next call.
			return "", fmt.Errorf("lease %s: %d writes in a row landed without an answer", h.shard, round)
		}
	}
}

// maxWriteRounds bounds the writes one fencedWrite makes: each round after the first follows
// a write that landed without an answer, and a server that answers none would keep the
// lease's writes (h.wmu) for as long as it keeps losing them.
const maxWriteRounds = 3

// readBackDeadline bounds the read-back of fencedWrite. It is not the refused write's budget
// (RenewInterval for renewals and checkpoints): the read-back is a Scan of the whole table,
// slower than the write, and it is the one call that tells whether the lease is still this
// worker's. Cut short, it tells nothing, and a DynamoDB slow enough for that on every round (a
// large table, a slow patch) would make every worker of the fleet give up every lease it
// holds after LeaseDuration, each re-read from its checkpoint. So it may take until the lease
// expires in this worker's own eyes (lastRenew + LeaseDuration; at least RenewInterval from
// now), as a take round's Scan may take LeaseDuration. A call bounded by its ctx alone (no
// budget: a release at Close, a handover's last write) reads back within ctx, as it writes.
// h.wmu is held.
func (s *Source) readBackDeadline(h *held) time.Time {
	deadline := h.lastRenew.Add(s.cfg.LeaseDuration)
	if least := time.Now().Add(s.cfg.renewInterval()); deadline.Before(least) {
		return least
	}
	return deadline
}

// adopt goes on from counter, which ownCounter found this worker's own unanswered writes left
// in the table: the lease was renewed when the earliest of them was sent (see fencedWrite).
// h.wmu is held.
func (s *Source) adopt(h *held, counter int64) {
	s.m.leaseEvents.WithLabelValues("recovered").Inc()
	s.log.Info("a lease write whose answer was lost had landed; going on from it", "shard", h.shard,
		"counter", counter)
	h.counter = counter
	if h.unansweredSent.After(h.lastRenew) {
		h.lastRenew = h.unansweredSent
	}
}

// renewedByUnanswered reads h back before renewAll gives it up as not renewed within
// LeaseDuration, if a write whose answer was lost may have moved its counter since the last
// one known to have landed, and adopts that write if it did (fencedWrite's read-back, which
// only runs after a refusal). A write found there renewed the lease when it was sent, which
// can be well after h.lastRenew: a write's answer lost after it landed, then the next write's
// refusal (fenced on the old counter) not answered within its budget either, as from a server
// slow under load, leaves h.lastRenew at the write before, and the worker would give up a
// lease whose counter moved under its own name a moment ago, which no other worker can take
// yet, and read the shard again from its checkpoint. It reports whether the lease was renewed
// within LeaseDuration after all.
func (s *Source) renewedByUnanswered(h *held) bool {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.gone.Load() || h.lost.Load() || h.unanswered <= h.counter {
		return false
	}
	ctx, cancel := context.WithDeadline(s.leaseCtx, s.readBackDeadline(h))
	counter, ours, err := s.ownCounter(ctx, h)
	cancel()
	if err != nil || !ours {
		return false // unknown, or not this worker's: give the lease up as before
	}
	s.adopt(h, counter)
	return time.Since(h.lastRenew) <= s.cfg.LeaseDuration
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
