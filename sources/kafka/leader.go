package kafka

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/weirstream/weir/pipeline"
)

// WatchLeadership makes the source report when this member comes to own, or stops owning,
// partition 0 of the first topic: the seat of the fleet's aggregator, which the group's own
// assignment elects, no protocol of weir's besides. fn(true, token) runs from onAssigned once
// the partition's runner started, with the group generation as the term's fencing token
// (generations only grow while the group lives); fn(false, 0) runs from onRevoked and onLost
// before the partitions are handed back. fn runs in the group's callbacks: it must return
// within the revoke budget. Call it before Run.
func (s *Source) WatchLeadership(fn func(held bool, token int64)) { s.leaderFn = fn }

// seat is the partition whose owner runs the aggregator.
func (s *Source) seat() tp { return tp{s.cfg.Topics[0], 0} }

// leaderGained tells the watcher this member took the seat, if it did.
func (s *Source) leaderGained(fresh []tp) {
	if s.leaderFn == nil {
		return
	}
	for _, p := range fresh {
		if p == s.seat() {
			_, gen := s.cl.GroupMetadata()
			s.log.Info("this member owns the aggregator's seat and runs the fleet's aggregator", "partition",
				fmt.Sprintf("%s/%d", p.topic, p.partition), "generation", gen)
			s.leaderFn(true, int64(gen))
			return
		}
	}
}

// leaderLost tells the watcher this member gives the seat up, if it does.
func (s *Source) leaderLost(parts []*owned) {
	if s.leaderFn == nil {
		return
	}
	for _, o := range parts {
		if o.key() == s.seat() {
			s.leaderFn(false, 0)
			return
		}
	}
}

// Partitions lists every partition of the configured topics, from the brokers' metadata: what
// the fleet's aggregator waits for in every window.
func (s *Source) Partitions(ctx context.Context) ([]pipeline.Partition, error) {
	topics, err := kadm.NewClient(s.cl).ListTopics(ctx, s.cfg.Topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: the topics' partitions: %w", err)
	}
	var out []pipeline.Partition
	for _, t := range topics.Sorted() {
		if t.Err != nil {
			return nil, fmt.Errorf("kafka: topic %s: %w", t.Topic, t.Err)
		}
		for _, p := range t.Partitions.Sorted() {
			out = append(out, pipeline.Partition{Stream: t.Topic, ID: strconv.Itoa(int(p.Partition))})
		}
	}
	return out, nil
}
