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
	for {
		select {
		case <-tick.C:
			s.renewAll()
		case <-s.leaseCtx.Done():
			return
		}
	}
}

// renewAll bumps every held lease's counter, up to maxParallelRenewals at once, each within
// RenewInterval. A lease whose fencing condition fails was taken by another worker; a lease
// this worker could not renew for LeaseDuration (DynamoDB unreachable) is given up too,
// because other workers consider it expired by then and may be reading it.
func (s *Source) renewAll() {
	sem := make(chan struct{}, maxParallelRenewals)
	var wg sync.WaitGroup
	for _, h := range s.heldLeases() {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s.renewOne(h)
		})
	}
	wg.Wait()
}

func (s *Source) renewOne(h *held) {
	ctx, cancel := context.WithTimeout(s.leaseCtx, s.cfg.renewInterval())
	err := s.renew(ctx, h)
	cancel()
	switch {
	case errors.Is(err, errLeaseLost):
		s.loseLease(h, "renewal refused: the lease counter moved")
	case err != nil && time.Since(s.lastRenew(h)) > s.cfg.LeaseDuration:
		s.loseLease(h, "not renewed within lease_duration: "+err.Error())
	case err != nil && s.leaseCtx.Err() == nil:
		s.log.Warn("lease renewal failed; retrying", "shard", h.shard, "err", err)
	}
}

func (s *Source) renew(ctx context.Context, h *held) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.gone.Load() {
		return nil // released or handed over a moment ago
	}
	if h.lost.Load() {
		return errLeaseLost
	}
	handoff, err := s.fencedWrite(ctx, h, func(ctx context.Context, counter int64) (int64, string, error) {
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
