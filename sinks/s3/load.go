package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/sinks/layout"
)

// Load reports (package load) live beside the partials, under kind=load/t=<period>/: every
// worker writes one per scaling period (a plain PUT, like its partials), and the aggregator
// lists and reads one period's. Nothing deletes them; a lifecycle rule on kind=load/ bounds
// how many accumulate (deploy/README.md).

// WriteLoad stores worker's load report for the period starting at start.
func (s *PartialStore) WriteLoad(ctx context.Context, start time.Time, worker string, body []byte) error {
	return s.up.put(ctx, "load", s.cfg.key(layout.LoadKey(start, worker)), "application/msgpack", "", body)
}

// ReadLoad returns one load report; a missing one is an error wrapping fs.ErrNotExist.
func (s *PartialStore) ReadLoad(ctx context.Context, start time.Time, worker string) ([]byte, error) {
	data, _, err := s.get(ctx, "load", s.cfg.key(layout.LoadKey(start, worker)))
	return data, err
}

// ListLoads calls fn with the worker of every load report of the period starting at start,
// until fn returns false: ListObjectsV2 under the period's prefix, page by page. Keys there
// that are not load reports are skipped.
func (s *PartialStore) ListLoads(ctx context.Context, start time.Time, fn func(worker string) bool) error {
	prefix := s.cfg.key(layout.LoadPeriodPrefix(start))
	in := &s3.ListObjectsV2Input{Bucket: &s.cfg.Bucket, Prefix: &prefix, MaxKeys: aws.Int32(s.pageSize)}
	strip := len(s.cfg.key(""))
	for {
		var out *s3.ListObjectsV2Output
		err := s.read(ctx, "load", opList, func(ctx context.Context) error {
			var err error
			out, err = s.reads.ListObjectsV2(ctx, in)
			return err
		})
		if err != nil {
			return fmt.Errorf("s3: listing s3://%s/%s: %w", s.cfg.Bucket, prefix, err)
		}
		for _, o := range out.Contents {
			t, worker, ok := layout.ParseLoadKey(aws.ToString(o.Key)[strip:])
			if !ok || !t.Equal(start.Truncate(time.Second)) {
				continue
			}
			if !fn(worker) {
				return nil
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}
