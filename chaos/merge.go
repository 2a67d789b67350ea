package main

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// withMerges adds o.Merges merges to a schedule, evenly spaced over the producer's run and
// half a spacing later than they would start, so a trial with as many splits as merges
// alternates them (a merge may then join the halves of an earlier split).
func withMerges(sched []event, o options) []event {
	gap := o.Produce / time.Duration(o.Merges+1)
	for i := range o.Merges {
		sched = append(sched, event{At: gap*time.Duration(i+1) + gap/2, Action: actMerge})
	}
	slices.SortStableFunc(sched, func(a, b event) int { return int(a.At - b.At) })
	return sched
}

// merge merges two open shards whose hash key ranges touch, drawn with rng, waits until the
// stream is active again with their child, and returns "parent + adjacent → child".
func (b *kinesisBed) merge(ctx context.Context, rng *rand.Rand) (string, error) {
	shards, err := b.shards(ctx)
	if err != nil {
		return "", err
	}
	type ranged struct {
		id     string
		lo, hi *big.Int
	}
	var open []ranged
	for _, sh := range shards {
		if sh.SequenceNumberRange.EndingSequenceNumber != nil {
			continue
		}
		lo, hi, err := hashRange(sh)
		if err != nil {
			return "", err
		}
		open = append(open, ranged{aws.ToString(sh.ShardId), lo, hi})
	}
	slices.SortFunc(open, func(a, b ranged) int { return a.lo.Cmp(b.lo) })
	var pairs [][2]string
	one := big.NewInt(1)
	for i := 1; i < len(open); i++ {
		if new(big.Int).Add(open[i-1].hi, one).Cmp(open[i].lo) == 0 {
			pairs = append(pairs, [2]string{open[i-1].id, open[i].id})
		}
	}
	if len(pairs) == 0 {
		return "", fmt.Errorf("no two adjacent open shards")
	}
	pair := pairs[rng.IntN(len(pairs))]
	if _, err := b.kin.MergeShards(ctx, &awskinesis.MergeShardsInput{StreamName: aws.String(trialStream),
		ShardToMerge: aws.String(pair[0]), AdjacentShardToMerge: aws.String(pair[1])}); err != nil {
		return "", fmt.Errorf("merging %s and %s: %w", pair[0], pair[1], err)
	}
	child := ""
	err = b.waitResharded(ctx, func(all []kintypes.Shard) bool {
		for _, c := range all {
			if aws.ToString(c.ParentShardId) == pair[0] && aws.ToString(c.AdjacentParentShardId) == pair[1] {
				child = aws.ToString(c.ShardId)
				return true
			}
		}
		return false
	})
	if err != nil {
		return "", fmt.Errorf("merge of %s and %s: %w", pair[0], pair[1], err)
	}
	return pair[0] + " + " + pair[1] + " → " + child, nil
}
