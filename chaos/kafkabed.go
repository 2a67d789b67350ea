package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/weirstream/weir/internal/brokerproc"
)

// The names a Kafka trial uses on its broker.
const (
	trialTopic = "chaos"
	trialGroup = "weir-chaos"
)

// kafkaBed is a topic on a kfake broker in a process of its own (the harness's binary in the
// broker role), read by the fleet as one consumer group.
type kafkaBed struct {
	o      options
	broker *brokerproc.Proc
	*group
}

// newKafkaBed starts the broker, logging into dir, and creates the trial's topic.
func newKafkaBed(ctx context.Context, o options, self, dir string) (*kafkaBed, error) {
	logf, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(self, "-role", "broker")
	cmd.Stderr = logf
	broker, err := brokerproc.Start(cmd)
	if err != nil {
		return nil, err
	}
	g, err := newGroup(broker.Addrs(), trialGroup, trialTopic)
	if err != nil {
		_ = broker.Stop()
		return nil, err
	}
	b := &kafkaBed{o: o, broker: broker, group: g}
	if err := g.createTopic(ctx, int32(o.Partitions)); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *kafkaBed) config() map[string]any {
	o := b.o
	kafka := map[string]any{
		"brokers": b.broker.Addrs(), "topics": []string{trialTopic}, "group": trialGroup, "start": "earliest",
		"session_timeout":       o.SessionTimeout.String(),
		"rebalance_timeout":     o.RebalanceTimeout.String(),
		"revoke_timeout":        o.RevokeTimeout.String(),
		"revoke_commit_timeout": o.RevokeCommit.String(),
	}
	if o.CommitInterval > 0 {
		kafka["commit_interval"] = o.CommitInterval.String()
	}
	return map[string]any{"source": map[string]any{"kind": "kafka", "format": "json", "kafka": kafka}}
}

func (b *kafkaBed) idVar() string { return "WEIR_SOURCE_KAFKA_CLIENT_ID" }

func (b *kafkaBed) connect(plan *producePlan) {
	plan.Source, plan.Brokers, plan.Topic = "kafka", b.broker.Addrs(), trialTopic
}

// produced is what the broker acknowledged: a record the broker refused may or may not be in
// the topic, which the tally's Failed says.
func (b *kafkaBed) produced(_ context.Context, acked *tally) (*tally, error) { return acked, nil }

// behind compares the group's committed offsets with the end offsets.
func (b *kafkaBed) behind(ctx context.Context, _ *tally) ([]string, error) {
	committed, end, err := b.progress(ctx)
	if err != nil {
		return nil, err
	}
	var behind []string
	for p := range int32(b.o.Partitions) {
		if committed[p] < end[p] {
			behind = append(behind, fmt.Sprintf("%d:%d/%d", p, committed[p], end[p]))
		}
	}
	return behind, nil
}

func (b *kafkaBed) describe() string {
	return fmt.Sprintf("topic %s of %d partitions on kfake, group %s", trialTopic, b.o.Partitions, trialGroup)
}

func (b *kafkaBed) close() {
	b.group.close()
	_ = b.broker.Stop()
}
