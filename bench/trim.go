package main

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// trimBehind deletes a live topic's records below group's committed offsets every interval
// until ctx ends, as retention does on a real broker. kfake keeps every record on its own Go
// heap: at ~350 k records/s for a minute the latency topic alone grew the broker's heap past
// 2 GB, and the broker process shares the two cores with the worker it serves. Records below
// the commits are ones the worker will never read again, so trimming them changes nothing the
// worker sees. It returns how many trims failed (a failed trim only means a larger broker).
func trimBehind(ctx context.Context, addrs []string, topic, group string, interval time.Duration) (failed int, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return failed, nil
		case <-t.C:
		}
		committed, err := adm.FetchOffsetsForTopics(ctx, group, topic)
		if err != nil {
			if ctx.Err() == nil { // not the run ending mid-request
				failed++
			}
			continue
		}
		var below kadm.Offsets
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At > 0 {
				below.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.At, LeaderEpoch: -1})
			}
		})
		if len(below) == 0 {
			continue
		}
		resp, err := adm.DeleteRecords(ctx, below)
		if err == nil {
			err = resp.Error()
		}
		if err != nil && ctx.Err() == nil {
			failed++
		}
	}
}
