package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weirstream/weir/pipeline"
)

// topicOffsets is one round of the whole topics' offsets: every partition's end, the group's
// commits, and the log starts when a partition has no commit and the group starts from the
// earliest offset (the base of its lag then).
type topicOffsets struct {
	ends      kadm.ListedOffsets
	committed kadm.OffsetResponses
	starts    kadm.ListedOffsets
}

// listOffsets asks the brokers for the topics' offsets: two requests, three when a partition
// has no commit, whatever the partition count.
func listOffsets(ctx context.Context, adm *kadm.Client, cfg Config) (topicOffsets, error) {
	var o topicOffsets
	var err error
	if o.ends, err = adm.ListEndOffsets(ctx, cfg.Topics...); err != nil {
		return o, fmt.Errorf("kafka: end offsets: %w", err)
	}
	if o.committed, err = adm.FetchOffsets(ctx, cfg.Group); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return o, fmt.Errorf("kafka: committed offsets: %w", err)
	}
	if cfg.Start == "earliest" && uncommitted(o.ends, o.committed) {
		if o.starts, err = adm.ListStartOffsets(ctx, cfg.Topics...); err != nil {
			return o, fmt.Errorf("kafka: start offsets: %w", err)
		}
	}
	return o, nil
}

// base is where the group resumes partition e: its commit, or without one where it starts
// consuming (the log start with start "earliest"; with "latest" the end is the best guess for
// a partition nobody consumes).
func (o topicOffsets) base(e kadm.ListedOffset) int64 {
	if c, ok := o.committed.Lookup(e.Topic, e.Partition); ok && c.Err == nil && c.At >= 0 {
		return c.At
	}
	if st, ok := o.starts.Lookup(e.Topic, e.Partition); ok && st.Err == nil {
		return st.Offset
	}
	return e.Offset
}

// PartitionOffsets is one partition of the topics as the brokers see it.
type PartitionOffsets struct {
	Partition pipeline.Partition
	// End is the offset the next appended record gets; Committed where the group resumes
	// (its commit, or without one where it starts consuming).
	End, Committed int64
}

// Offsets lists every partition of the configured topics with its end offset and the group's
// committed offset, from the brokers (not from this member's own marks): the whole topics'
// view the fleet's sizing compares from one period to the next. Partitions whose end offset
// could not be listed make it an error: a view with holes would read as a drop in arrivals.
func (s *Source) Offsets(ctx context.Context) ([]PartitionOffsets, error) {
	o, err := listOffsets(ctx, kadm.NewClient(s.cl), s.cfg)
	if err != nil {
		return nil, err
	}
	var out []PartitionOffsets
	var firstErr error
	o.ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("kafka: end offset of %s/%d: %w", e.Topic, e.Partition, e.Err)
			}
			return
		}
		out = append(out, PartitionOffsets{Partition: pipeline.Partition{Stream: e.Topic, ID: strconv.Itoa(int(e.Partition))},
			End: e.Offset, Committed: min(o.base(e), e.Offset)})
	})
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(out, func(a, b PartitionOffsets) int { return pipeline.ComparePartitions(a.Partition, b.Partition) })
	return out, nil
}
