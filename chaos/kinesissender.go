package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// kinesisSender writes to the trial's stream with PutRecords: the records of a tick in one call
// (at most putRecordsMax), one call at a time, so a shard receives the records in the order
// the producer stamped them.
type kinesisSender struct {
	kin     *awskinesis.Client
	stream  string
	pending []kintypes.PutRecordsRequestEntry
	dones   []func(int32, error)
}

// putRecordsMax is the most records one PutRecords call takes.
const putRecordsMax = 500

func newKinesisSender(ctx context.Context, endpoint, stream string) (*kinesisSender, error) {
	cfg, err := localAWS(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return &kinesisSender{kin: awskinesis.NewFromConfig(cfg), stream: stream}, nil
}

func (s *kinesisSender) send(_ context.Context, key, value []byte, done func(int32, error)) {
	s.pending = append(s.pending, kintypes.PutRecordsRequestEntry{PartitionKey: aws.String(string(key)), Data: value})
	s.dones = append(s.dones, done)
}

// tick sends what is pending. A refused entry (throttled) is not sent again: the harness counts
// what the stream holds, not what the producer meant to write.
func (s *kinesisSender) tick(ctx context.Context) {
	for start := 0; start < len(s.pending); start += putRecordsMax {
		end := min(len(s.pending), start+putRecordsMax)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		out, err := s.kin.PutRecords(cctx, &awskinesis.PutRecordsInput{StreamName: aws.String(s.stream), Records: s.pending[start:end]})
		cancel()
		for i, done := range s.dones[start:end] {
			switch {
			case err != nil:
				done(0, err)
			case out.Records[i].ErrorCode != nil:
				done(0, fmt.Errorf("%s: %s", aws.ToString(out.Records[i].ErrorCode), aws.ToString(out.Records[i].ErrorMessage)))
			default:
				p, perr := partitionIndex(aws.ToString(out.Records[i].ShardId))
				done(p, perr)
			}
		}
	}
	clear(s.pending)
	clear(s.dones)
	s.pending, s.dones = s.pending[:0], s.dones[:0]
}

func (s *kinesisSender) flush(ctx context.Context) error {
	s.tick(ctx)
	return ctx.Err()
}

func (s *kinesisSender) close() {}
