// Package grouptest holds a Kafka consumer-group member for tests that need a rebalance to stay
// in flight: it joins by hand and then goes silent, so the coordinator waits for it to rejoin
// (up to its rebalance timeout) while every other member's JoinGroup waits too, as behind a
// member stalled in a long pause or a slow revoke.
package grouptest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SilentMember is a consumer-group member that joins, syncs, and then sends nothing more.
type SilentMember struct {
	ID         string
	Generation int32
}

// JoinSilently joins group (subscribed to topics, speaking cooperative-sticky like weir's
// workers) through cl, a client that is not itself in a group, and syncs. With a member already
// in the group, the join triggers a rebalance; a cooperative leader then revokes what it hands
// over and rejoins, and that second rebalance waits for this member, which never rejoins:
// until timeout (its session and rebalance timeout) the group stays in PreparingRebalance.
func JoinSilently(ctx context.Context, cl *kgo.Client, group string, topics []string, timeout time.Duration) (*SilentMember, error) {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 1
	meta.Topics = topics
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group = group
	req.SessionTimeoutMillis = int32(timeout.Milliseconds())
	req.RebalanceTimeoutMillis = int32(timeout.Milliseconds())
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "cooperative-sticky", meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	m := &SilentMember{}
	for attempt := 0; m.ID == ""; attempt++ {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return nil, err
		}
		switch err := kerr.ErrorForCode(resp.ErrorCode); {
		case errors.Is(err, kerr.MemberIDRequired) && attempt == 0: // KIP-394: join again with it
			req.MemberID = resp.MemberID
		case err != nil:
			return nil, fmt.Errorf("join: %w", err)
		default:
			m.ID, m.Generation = resp.MemberID, resp.Generation
		}
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = group, m.Generation, m.ID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("cooperative-sticky")
	resp, err := sync.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	// REBALANCE_IN_PROGRESS: another member (a cooperative leader revoking what it gives up)
	// rejoined before this sync arrived. The member joined the generation all the same, and the
	// new rebalance now waits for it to join again, which it never does: what the caller wants.
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil && !errors.Is(err, kerr.RebalanceInProgress) {
		return nil, fmt.Errorf("sync: %w", err)
	}
	return m, nil
}

// State returns the group's state ("Stable", "PreparingRebalance", …) and member count, or ""
// and -1 when the coordinator does not answer.
func State(ctx context.Context, cl *kgo.Client, group string) (string, int) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	gs, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		return "", -1
	}
	return gs[group].State, len(gs[group].Members)
}
