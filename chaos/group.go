package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// group is the harness's admin view of the workers' consumer group: who owns what, how far the
// group has committed, and the eviction of killed members.
type group struct {
	cl    *kgo.Client
	adm   *kadm.Client
	name  string
	topic string
}

func newGroup(brokers []string, name, topic string) (*group, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, err
	}
	return &group{cl: cl, adm: kadm.NewClient(cl), name: name, topic: topic}, nil
}

func (g *group) close() { g.cl.Close() }

// createTopic creates the trial's topic.
func (g *group) createTopic(ctx context.Context, partitions int32) error {
	resp, err := g.adm.CreateTopic(ctx, partitions, 1, nil, g.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("creating topic %s: %w", g.topic, err)
	}
	return nil
}

// owners returns the partitions each member owns, by client id, and whether the group is
// stable: in the middle of a rebalance the broker shows no assignments.
func (g *group) owners(ctx context.Context) (map[string][]int32, bool, error) {
	described, err := g.adm.DescribeGroups(ctx, g.name)
	if err != nil {
		return nil, false, err
	}
	d, ok := described[g.name]
	if !ok {
		return nil, false, fmt.Errorf("group %s not described", g.name)
	}
	if d.Err != nil {
		return nil, false, d.Err
	}
	out := map[string][]int32{}
	for _, m := range d.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			continue
		}
		for _, t := range c.Topics {
			if t.Topic == g.topic {
				out[m.ClientID] = append(out[m.ClientID], t.Partitions...)
			}
		}
		slices.Sort(out[m.ClientID])
	}
	return out, d.State == "Stable", nil
}

// evict removes from the group every member with this client id and returns how many it
// removed. The harness calls it for a SIGKILLed worker once a real broker would have expired
// the member's session: kfake does not expire a member killed while its JoinGroup waits
// (shared/design/TEST-SERVERS.md), and such a member would hold every rebalance for its
// timeout.
func (g *group) evict(ctx context.Context, clientID string) (int, error) {
	described, err := g.adm.DescribeGroups(ctx, g.name)
	if err != nil {
		return 0, err
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = g.name
	for _, m := range described[g.name].Members {
		if m.ClientID == clientID {
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = m.MemberID
			lm.Reason = kmsg.StringPtr("chaos: killed worker, session would have expired")
			req.Members = append(req.Members, lm)
		}
	}
	if len(req.Members) == 0 {
		return 0, nil
	}
	resp, err := req.RequestWith(ctx, g.cl)
	if err != nil {
		return 0, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return 0, err
	}
	n := 0
	for _, m := range resp.Members {
		switch err := kerr.ErrorForCode(m.ErrorCode); err {
		case nil:
			n++
		case kerr.UnknownMemberID: // expired in the meantime
		default:
			return n, err
		}
	}
	return n, nil
}

// progress returns, per partition, the group's committed offset and the end offset.
func (g *group) progress(ctx context.Context) (committed, end map[int32]int64, err error) {
	ends, err := g.adm.ListEndOffsets(ctx, g.topic)
	if err != nil {
		return nil, nil, err
	}
	if err := ends.Error(); err != nil {
		return nil, nil, err
	}
	offs, err := g.adm.FetchOffsets(ctx, g.name)
	if err != nil {
		return nil, nil, err
	}
	if err := offs.Error(); err != nil {
		return nil, nil, err
	}
	committed, end = map[int32]int64{}, map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == g.topic {
			committed[o.Partition] = o.At
		}
	})
	return committed, end, nil
}
