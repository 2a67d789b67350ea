package kinesis

import (
	"context"
	"errors"
	"sync"
	"time"
)

// maxParallelRenewals bounds the renewals in flight at once: a worker may hold hundreds of
// leases, and one lease whose write hangs must not hold back the others' (the KCL renews from
// a thread pool for the same reason).
const maxParallelRenewals = 16

// renewLoop renews the held leases every RenewInterval, from Run until Close. It is a goroutine
// of its own, apart from the coordinator's take rounds and shard syncs: those scan the table
// and list the shards, and a scan or a ListShards that takes up to LeaseDuration must not
// delay a renewal, or other workers see the lease's counter stand still and take a lease from
// a worker that is alive and reading it (a replay of its open windows, and churn). Renewal
// must also go on after Run returned, while the runtime drains, or the leases would expire
// under a worker that is still committing.
//
// A take round running at the same time never writes a lease this worker holds (balance
// leaves held leases alone), and every write of a lease is fenced on its counter: a renewal
// racing another worker's take of the same lease either lands first (the take is then
// refused) or is refused itself (the lease is lost, renewAll says so).
func (s *Source) renewLoop() {
	tick := time.NewTicker(s.cfg.renewInterval())
	defer tick.Stop()
	sem := make(chan struct{}, maxParallelRenewals)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-tick.C:
			s.renewAll(sem, &wg)
		case <-s.leaseCtx.Done():
			return
		}
	}
}

// renewAll bumps every held lease's counter, up to maxParallelRenewals at once. A lease whose
// fencing condition fails was taken by another worker; a lease this worker could not renew for
// LeaseDuration (DynamoDB unreachable) is given up too, because other workers consider it
// expired by then and may be reading it.
//
// A round does not wait for the renewals it started: one lease whose renewal takes long (its
// read-back after a lost answer may take until the lease expires, see fencedWrite) must not
// hold back the next round of the others. A lease whose last renewal is still under way is
// skipped (renewing).
func (s *Source) renewAll(sem chan struct{}, wg *sync.WaitGroup) {
	for _, h := range s.heldLeases() {
		if !h.renewing.CompareAndSwap(false, true) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-s.leaseCtx.Done():
			h.renewing.Store(false)
			return
		}
		wg.Go(func() {
			defer func() { <-sem; h.renewing.Store(false) }()
			s.renewOne(h)
		})
	}
}

func (s *Source) renewOne(h *held) {
	err := s.renew(h)
	switch {
	case errors.Is(err, errLeaseLost):
		s.loseLease(h, "renewal refused: the lease counter moved")
	case err != nil && time.Since(s.lastRenew(h)) > s.cfg.LeaseDuration && !s.renewedByUnanswered(h):
		s.loseLease(h, "not renewed within lease_duration: "+err.Error())
	case err != nil && s.leaseCtx.Err() == nil:
		s.log.Warn("lease renewal failed; retrying", "shard", h.shard, "err", err)
	}
}

// renew renews h, each write within RenewInterval from when it is sent (see fencedWrite): a
// checkpoint's read-back may hold h.wmu for longer than that, and a renewal that spent its
// budget waiting for it would fail without having been sent.
func (s *Source) renew(h *held) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.gone.Load() {
		return nil // released or handed over a moment ago
	}
	if h.lost.Load() {
		return errLeaseLost
	}
	handoff, err := s.fencedWrite(s.leaseCtx, h, s.cfg.renewInterval(), func(ctx context.Context, counter int64) (int64, string, error) {
		return s.store.renew(ctx, h.shard, s.cfg.WorkerID, counter)
	})
	if err != nil {
		return err
	}
	if handoff != "" && handoff != s.cfg.WorkerID && h.handoffTo.CompareAndSwap(nil, &handoff) {
		// Another worker asked for this lease to balance the fleet: stop reading; the reader's
		// exit drains the shard and hands the lease over (see handOver).
		s.log.Info("handing a lease over", "shard", h.shard, "to", handoff)
		h.cancel()
	}
	return nil
}

func (s *Source) lastRenew(h *held) time.Time {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return h.lastRenew
}
