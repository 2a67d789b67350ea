package main

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// resharder is a bed whose stream can be resharded while the fleet reads it.
type resharder interface {
	// split splits one open shard drawn with rng and says which, into which.
	split(ctx context.Context, rng *rand.Rand) (string, error)
	// merge merges two adjacent open shards drawn with rng and says which, into which.
	merge(ctx context.Context, rng *rand.Rand) (string, error)
}

// withSplits adds o.Splits splits to a schedule, evenly spaced over the producer's run.
func withSplits(sched []event, o options) []event {
	for i := range o.Splits {
		sched = append(sched, event{At: o.Produce * time.Duration(i+1) / time.Duration(o.Splits+1), Action: actSplit})
	}
	slices.SortStableFunc(sched, func(a, b event) int { return int(a.At - b.At) })
	return sched
}

// split splits an open shard drawn with rng at the middle of its hash key range, waits until
// the stream is active again, and returns "parent → children".
func (b *kinesisBed) split(ctx context.Context, rng *rand.Rand) (string, error) {
	shards, err := b.shards(ctx)
	if err != nil {
		return "", err
	}
	var open []kintypes.Shard
	for _, sh := range shards {
		if sh.SequenceNumberRange.EndingSequenceNumber == nil {
			open = append(open, sh)
		}
	}
	if len(open) == 0 {
		return "", fmt.Errorf("no open shard")
	}
	sh := open[rng.IntN(len(open))]
	lo, hi, err := hashRange(sh)
	if err != nil {
		return "", err
	}
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1)
	mid.Add(mid, big.NewInt(1)) // the new shard starts above the middle: both halves non-empty
	if _, err := b.kin.SplitShard(ctx, &awskinesis.SplitShardInput{StreamName: aws.String(trialStream),
		ShardToSplit: sh.ShardId, NewStartingHashKey: aws.String(mid.String())}); err != nil {
		return "", fmt.Errorf("splitting %s: %w", aws.ToString(sh.ShardId), err)
	}
	var children []string
	err = b.waitResharded(ctx, func(all []kintypes.Shard) bool {
		children = children[:0]
		for _, c := range all {
			if aws.ToString(c.ParentShardId) == aws.ToString(sh.ShardId) {
				children = append(children, aws.ToString(c.ShardId))
			}
		}
		return len(children) == 2
	})
	if err != nil {
		return "", fmt.Errorf("split of %s: %w", aws.ToString(sh.ShardId), err)
	}
	return aws.ToString(sh.ShardId) + " → " + strings.Join(children, ", "), nil
}

// waitResharded waits (30 s at most) until the stream is active again and found holds for its
// shards: the reshard's children are listed.
func (b *kinesisBed) waitResharded(ctx context.Context, found func([]kintypes.Shard) bool) error {
	return waitFor(ctx, 30*time.Second, func() bool {
		out, err := b.kin.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(trialStream)})
		if err != nil || out.StreamDescriptionSummary.StreamStatus != kintypes.StreamStatusActive {
			return false
		}
		all, err := b.shards(ctx)
		return err == nil && found(all)
	})
}

// hashRange returns a shard's hash key range.
func hashRange(sh kintypes.Shard) (lo, hi *big.Int, err error) {
	lo, ok1 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
	hi, ok2 := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("shard %s: hash key range %v", aws.ToString(sh.ShardId), sh.HashKeyRange)
	}
	return lo, hi, nil
}

// shards lists every shard of the stream, closed ones included.
func (b *kinesisBed) shards(ctx context.Context) ([]kintypes.Shard, error) {
	var all []kintypes.Shard
	in := &awskinesis.ListShardsInput{StreamName: aws.String(trialStream)}
	for {
		out, err := b.kin.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the shards: %w", err)
		}
		all = append(all, out.Shards...)
		if out.NextToken == nil {
			return all, nil
		}
		in = &awskinesis.ListShardsInput{NextToken: out.NextToken}
	}
}
