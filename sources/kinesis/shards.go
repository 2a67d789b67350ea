package kinesis

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// listShards returns the stream's shards (ListShards, every page). With a filter only the
// shards it selects; servers that do not know filters return them all, which callers allow for.
func (s *Source) listShards(ctx context.Context, filter *types.ShardFilter) ([]types.Shard, error) {
	var out []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(s.cfg.Stream), ShardFilter: filter}
	for {
		var page *kinesis.ListShardsOutput
		err := s.cfg.Retry.Do(ctx, func(ctx context.Context) (err error) {
			page, err = s.kin.ListShards(ctx, in)
			return err
		}, func(reason string, _ error) { s.m.apiErrors.WithLabelValues("ListShards", reason).Inc() })
		if err != nil {
			return nil, fmt.Errorf("listing the shards of %q: %w", s.cfg.Stream, err)
		}
		out = append(out, page.Shards...)
		if page.NextToken == nil {
			return out, nil
		}
		// A continued listing names the token only (Kinesis refuses both).
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

// syncShards creates a lease for every shard of the stream that has none, parents before
// children (activeLeases relies on that order), and deletes the leases of finished shards that
// are no longer needed (finishedToDelete). A shard none of whose descendants has a lease is
// one nobody has read yet; a shard with a leased descendant was read to its end before, and
// its lease deleted: it never gets a new one (it would be read again from its start).
//
// Where a new lease starts depends on when its shard was found. When the table holds no lease
// of the stream yet (a new deployment), the configured start applies: trim_horizon reads every
// retained shard, parents first; latest and at_timestamp read the shards the matching
// ListShards filter (AT_LATEST, AT_TIMESTAMP) returns, and the other shards get leases that are
// already finished (SHARD_END), so their children are not held back by shards nobody will read.
// Any shard found later was created by a reshard after the fleet started, so it starts at its
// beginning (TRIM_HORIZON): reading it from LATEST would skip what was written to it between
// the reshard and its discovery.
func (s *Source) syncShards(ctx context.Context) error {
	shards, err := s.listShards(ctx, nil)
	if err != nil {
		return err
	}
	existing, err := s.store.list(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(existing))
	for _, l := range existing {
		have[l.Shard] = true
	}
	passed := ancestorsOf(shards, have)
	startAt := cpTrimHorizon
	var selected map[string]bool // nil: every shard
	if len(existing) == 0 {
		startAt, selected, err = s.bootstrapSelection(ctx)
		if err != nil {
			return err
		}
	}
	for _, sh := range parentsFirst(shards) {
		id := aws.ToString(sh.ShardId)
		if have[id] || passed[id] {
			continue
		}
		l := lease{Shard: id, Checkpoint: startAt}
		if selected != nil && !selected[id] {
			l.Checkpoint = cpShardEnd
		}
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil && *p != "" {
				l.Parents = append(l.Parents, *p)
			}
		}
		created, err := s.store.create(ctx, l)
		if err != nil {
			// Stop here: a child must never get a lease before its parent.
			return fmt.Errorf("creating the lease of %s: %w", id, err)
		}
		if created {
			s.m.leaseEvents.WithLabelValues("created").Inc()
		}
	}
	for _, l := range finishedToDelete(shards, existing) {
		deleted, err := s.store.deleteFinished(ctx, l.Shard)
		if err != nil {
			return fmt.Errorf("deleting the lease of finished shard %s: %w", l.Shard, err)
		}
		if deleted {
			s.m.leaseEvents.WithLabelValues("deleted").Inc()
			s.log.Info("lease of a finished shard deleted: every child has passed it", "shard", l.Shard)
		}
	}
	return nil
}

// finishedToDelete returns the leases of finished shards that nothing needs any more, as the
// KCL's lease cleanup decides: a shard read to its end whose every child has been read past its
// own start (checkpointed a record, or finished and deleted in turn). Until then the parent's
// SHARD_END is what lets its children be read (activeLeases), and what tells a new worker the
// parent is done. A finished lease whose shard has left the stream (beyond its retention) is
// deleted too: no shard sync can create it again. A finished shard whose children have no
// leases yet keeps its lease, or the next sync would take it for a shard never read.
func finishedToDelete(shards []types.Shard, leases []lease) []lease {
	byShard := make(map[string]lease, len(leases))
	have := make(map[string]bool, len(leases))
	for _, l := range leases {
		byShard[l.Shard], have[l.Shard] = l, true
	}
	passed := ancestorsOf(shards, have)
	listed := make(map[string]bool, len(shards))
	children := map[string][]string{}
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		listed[id] = true
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil && *p != "" {
				children[*p] = append(children[*p], id)
			}
		}
	}
	var out []lease
	for _, l := range leases {
		if !l.finished() {
			continue
		}
		if !listed[l.Shard] {
			out = append(out, l)
			continue
		}
		kids := children[l.Shard]
		done := len(kids) > 0
		for _, k := range kids {
			kl, ok := byShard[k]
			if ok && !kl.started() || !ok && !passed[k] {
				done = false
			}
		}
		if done {
			out = append(out, l)
		}
	}
	return out
}

// ancestorsOf returns every shard that is a parent, grandparent… of a shard in have, following
// the parent links of the listing.
func ancestorsOf(shards []types.Shard, have map[string]bool) map[string]bool {
	parents := make(map[string][]string, len(shards))
	for _, sh := range shards {
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil && *p != "" {
				parents[aws.ToString(sh.ShardId)] = append(parents[aws.ToString(sh.ShardId)], *p)
			}
		}
	}
	out := map[string]bool{}
	var up func(id string)
	up = func(id string) {
		for _, p := range parents[id] {
			if !out[p] {
				out[p] = true
				up(p)
			}
		}
	}
	for id := range have {
		up(id)
	}
	return out
}

// bootstrapSelection applies the configured start to a stream the table does not know yet.
func (s *Source) bootstrapSelection(ctx context.Context) (string, map[string]bool, error) {
	var filter *types.ShardFilter
	var startAt string
	switch s.cfg.Start {
	case StartTrimHorizon:
		return cpTrimHorizon, nil, nil
	case StartLatest:
		startAt, filter = cpLatest, &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}
	case StartAtTimestamp:
		startAt, filter = cpAtTimestamp, &types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(s.cfg.StartTimestamp)}
	}
	filtered, err := s.listShards(ctx, filter)
	if err != nil {
		return "", nil, err
	}
	selected := make(map[string]bool, len(filtered))
	for _, sh := range filtered {
		// A server that ignores the filter returns closed shards too; for latest only open
		// shards can have new records.
		if s.cfg.Start == StartLatest && sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil {
			continue
		}
		selected[aws.ToString(sh.ShardId)] = true
	}
	return startAt, selected, nil
}

// parentsFirst orders shards so that every shard comes after its parents (when they are in the
// list at all).
func parentsFirst(shards []types.Shard) []types.Shard {
	in := make(map[string]bool, len(shards))
	for _, sh := range shards {
		in[aws.ToString(sh.ShardId)] = true
	}
	done := make(map[string]bool, len(shards))
	out := make([]types.Shard, 0, len(shards))
	for len(out) < len(shards) {
		progress := false
		for _, sh := range shards {
			id := aws.ToString(sh.ShardId)
			if done[id] {
				continue
			}
			ready := true
			for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
				if p != nil && in[*p] && !done[*p] {
					ready = false
				}
			}
			if ready {
				done[id], progress = true, true
				out = append(out, sh)
			}
		}
		if !progress { // a cycle cannot happen; do not loop forever if a server says otherwise
			for _, sh := range shards {
				if !done[aws.ToString(sh.ShardId)] {
					out = append(out, sh)
				}
			}
			break
		}
	}
	return out
}
