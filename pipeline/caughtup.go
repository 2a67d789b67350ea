package pipeline

import "time"

// Caught up, and as of when. A partition's source says it is caught up (Batch.More false) when
// nothing more is waiting to be read. For a quiet partition (rule 4 of eventtime.go) that claim
// is what lets the wall clock close windows (rule 5), so it is only as good as its time: a fetch
// that hangs while the worker runs (a broker that takes the connection and does not answer, a
// network partition between the worker and the partition's leader, GetRecords calls throttled
// or timing out, a client stuck re-resolving a moved leader) leaves the last claim standing
// while records reach the broker on time, and a wall clock running on from it closes their
// windows before they are read. A source that can confirm the claim says as of when
// (Batch.CaughtUpAt), again and again while the partition stays caught up, and the wall-clock
// rule moves the watermark no further than the last confirmation: what reached the broker after
// it is on time whenever the fetch answers, and the partition's windows wait meanwhile, as a
// partition that is behind holds them. A source that never confirms keeps the plain reading:
// caught up until it says otherwise.

// confirm takes the source's word that the partition had nothing waiting as of at (Unix ns).
func (r *runner) confirm(at int64) {
	if r.confirms && at > r.confirmedAt {
		r.confirmGap = at - r.confirmedAt
	}
	r.confirms = true
	r.confirmedAt = max(r.confirmedAt, at)
}

// wallLimit is how far the wall-clock rule may take a quiet partition at now: to now, or to the
// source's last confirmation if it confirms.
func (r *runner) wallLimit(now int64) int64 {
	if r.confirms {
		return min(now, r.confirmedAt)
	}
	return now
}

// checkConfirmed notes, on a tick, whether a quiet partition's source has stopped confirming
// it: no confirmation for the idle timeout since the partition went quiet (or since the last
// one), nor for two of the source's own intervals between confirmations, so that a source
// confirming less often than the idle timeout is not taken for stuck between two of them. Its
// windows then wait at the last confirmation, and to a user the stream would look merely
// quiet; weir_partitions_unconfirmed and a log line say it is stuck instead.
func (r *runner) checkConfirmed(now int64) {
	idle := int64(r.rt.cfg.IdleTimeout)
	stale := r.confirms && r.quiet && now-max(r.confirmedAt, r.idleSince+idle) >= max(idle, 2*r.confirmGap)
	if stale == r.unconfirmed {
		return
	}
	r.unconfirmed = stale
	confirmed := time.Unix(0, r.confirmedAt).UTC()
	if stale {
		r.rt.metrics.unconfirmed.Inc()
		r.rt.log.Warn("partition is caught up but its source has stopped confirming it; its windows wait "+
			"(a fetch that hangs or a broker out of reach?)", "stream", r.p.Stream, "partition", r.p.ID, "confirmed", confirmed)
		return
	}
	r.rt.metrics.unconfirmed.Dec()
	r.rt.log.Info("partition's source is answering again", "stream", r.p.Stream, "partition", r.p.ID, "confirmed", confirmed)
}

// forgetConfirmed takes the partition out of weir_partitions_unconfirmed when its runner ends.
func (r *runner) forgetConfirmed() {
	if r.unconfirmed {
		r.unconfirmed = false
		r.rt.metrics.unconfirmed.Dec()
	}
}
