package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A member that joined and then went silent (a killed worker, as the broker sees one) is
// removed by its client id; a member of another client id stays.
func TestEvict(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, trialTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := newGroup(c.ListenAddrs(), trialGroup, trialTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	join(ctx, t, c.ListenAddrs(), "chaos-w1-1")
	if n, err := g.evict(ctx, "chaos-w2-1"); err != nil || n != 0 {
		t.Fatalf("evicting a client id with no member removed %d (%v), want 0", n, err)
	}
	if n, err := g.evict(ctx, "chaos-w1-1"); err != nil || n != 1 {
		t.Fatalf("evicting the silent member removed %d (%v), want 1", n, err)
	}
	described, err := g.adm.DescribeGroups(ctx, trialGroup)
	if err != nil {
		t.Fatal(err)
	}
	if m := described[trialGroup].Members; len(m) != 0 {
		t.Fatalf("the group still has %d members after the eviction: %+v", len(m), m)
	}
}

// join makes clientID a member of the trial's group that never heartbeats, with a session
// longer than the test.
func join(ctx context.Context, t *testing.T, brokers []string, clientID string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.ProtocolType = trialGroup, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 60_000, 60_000
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{trialTopic}
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, proto)
	for range 2 { // the first answer asks for the member id it assigns
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		switch err := kerr.ErrorForCode(resp.ErrorCode); err {
		case nil:
			return
		case kerr.MemberIDRequired:
			req.MemberID = resp.MemberID
		default:
			t.Fatal(err)
		}
	}
	t.Fatal("JoinGroup did not complete")
}
