package kinesis

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
)

// fetch is what one read of a shard returned.
type fetch struct {
	records      []types.Record
	millisBehind int64
	// at is when the call was sent: at millisBehind 0, every record that reached the shard
	// before it is in this fetch or an earlier one (Batch.CaughtUpAt).
	at time.Time
	// end says the shard is closed and these were its last records.
	end bool
}

// Kinesis's per-shard read limits.
const (
	minCallGap      = 200 * time.Millisecond // 5 GetRecords calls per second
	readBytesPerSec = 2 << 20                // 2 MB/s
)

// poller reads a shard with GetShardIterator and GetRecords, within the shard's limits: at
// most 5 calls per second, at most 2 MB/s (after a call that returned n bytes the next waits
// n/2MB seconds), one call per PollInterval once caught up, backoff on throttling. It is the
// only way weir reads a shard; enhanced fan-out (SubscribeToShard) would be a second reader
// with the same next, and the interface to choose between them would come with it.
type poller struct {
	s     *Source
	shard string
	// from is where an iterator starts: the checkpoint at first, then just after the last
	// record returned, so an expired iterator is re-created without skipping or repeating.
	from     lease
	after    string // sequence number of the last record returned; "" before the first
	iter     *string
	nextCall time.Time
	backoff  time.Duration
}

func (s *Source) newPoller(shard string, from lease) *poller {
	return &poller{s: s, shard: shard, from: from}
}

// next blocks until the next fetch (possibly empty) or ctx ends. It retries transient errors
// itself, so the only error it returns is ctx's.
func (p *poller) next(ctx context.Context) (fetch, error) {
	for {
		if err := sleepUntil(ctx, p.nextCall); err != nil {
			return fetch{}, err
		}
		if p.iter == nil {
			if err := p.iterator(ctx); err != nil {
				if ctx.Err() != nil {
					return fetch{}, ctx.Err()
				}
				p.fail(ctx, "GetShardIterator", err)
				continue
			}
		}
		at := time.Now()
		out, err := p.s.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: p.iter, Limit: aws.Int32(p.s.cfg.Limit)})
		if err != nil {
			if ctx.Err() != nil {
				return fetch{}, ctx.Err()
			}
			var expired *types.ExpiredIteratorException
			if errors.As(err, &expired) {
				p.s.m.apiErrors.WithLabelValues("GetRecords", "expired_iterator").Inc()
				p.iter = nil // re-created from the last record returned
				continue
			}
			p.fail(ctx, "GetRecords", err)
			continue
		}
		p.s.m.getRecords.Inc()
		stamp(&p.s.ready.read)
		p.backoff = 0
		f := fetch{records: out.Records, at: at, end: out.NextShardIterator == nil}
		if out.MillisBehindLatest != nil {
			f.millisBehind = *out.MillisBehindLatest
		}
		p.iter = out.NextShardIterator
		var bytes int
		for _, r := range out.Records {
			bytes += len(r.Data)
		}
		if n := len(out.Records); n > 0 {
			p.after = aws.ToString(out.Records[n-1].SequenceNumber)
		}
		gap := max(minCallGap, time.Duration(bytes)*time.Second/readBytesPerSec)
		if len(out.Records) == 0 && f.millisBehind == 0 {
			gap = p.s.cfg.PollInterval
		}
		p.nextCall = time.Now().Add(gap)
		return f, nil
	}
}

// iterator gets a shard iterator: after the last record returned, else from the checkpoint.
// A checkpoint is a (sequence, sub-sequence) pair; the record at that sequence number may be an
// aggregate only partly processed, so reading resumes AT it and the reader skips its
// sub-records up to the checkpointed one (AFTER would skip the rest of the aggregate).
func (p *poller) iterator(ctx context.Context) error {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(p.s.cfg.Stream), ShardId: aws.String(p.shard)}
	switch {
	case p.after != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(p.after)
	case p.from.Checkpoint == cpTrimHorizon:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	case p.from.Checkpoint == cpLatest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	case p.from.Checkpoint == cpAtTimestamp:
		in.ShardIteratorType, in.Timestamp = types.ShardIteratorTypeAtTimestamp, aws.Time(p.s.cfg.StartTimestamp)
	default:
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAtSequenceNumber, aws.String(p.from.Checkpoint)
	}
	out, err := p.s.kin.GetShardIterator(ctx, in)
	if err != nil {
		return err
	}
	p.iter = out.ShardIterator
	return nil
}

// fail counts a failed call and schedules the retry: exponential, jittered backoff from
// Retry.InitialBackoff to Retry.MaxBackoff. Throttling (ProvisionedThroughputExceeded) backs
// off the same way, which also spreads out the other consumers of the shard. Errors that
// retrying cannot fix are logged loudly and still retried (slowly): a worker that stops
// reading a shard it holds would stall it for the whole fleet.
func (p *poller) fail(ctx context.Context, op string, err error) {
	reason, transient := awsconf.Classify(ctx, err)
	p.s.m.apiErrors.WithLabelValues(op, reason).Inc()
	r := p.s.cfg.Retry
	if p.backoff == 0 {
		p.backoff = r.InitialBackoff
	} else {
		p.backoff = min(2*p.backoff, r.MaxBackoff)
	}
	if !transient {
		p.backoff = r.MaxBackoff
		p.s.log.Error("reading a shard failed; retrying", "shard", p.shard, "op", op, "err", err)
		p.iter = nil
	}
	wait := p.backoff/2 + rand.N(p.backoff/2+1)
	p.nextCall = time.Now().Add(wait)
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
