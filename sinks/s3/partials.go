package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
)

// PartialStore keeps the fleet's shared objects in the sink's bucket, under its prefix: each
// partition's partial of each window (sinks/layout: kind=partial/window=…/stream=…/partition=…),
// the publish markers and the aggregator's state. It shares the sink's client, retry policy,
// concurrency gate, encryption and metrics.
//
// The guards rest on S3's conditional writes: a publish claim is a PUT with If-None-Match: *,
// which S3 fails with 412 PreconditionFailed when the marker exists; a state save is a PUT with
// If-Match: <ETag> (or If-None-Match: * for the first), so two aggregators cannot both
// replace one version. A conditional PUT whose answer was lost (a timeout, a 5xx) and whose
// retry then fails the condition is resolved by reading the object back: if it holds exactly
// the bytes sent, the first attempt won. A create (If-None-Match: *) that fails the condition
// is always read back, for the same reason across calls: a claim that failed after its PUT
// landed is tried again with the same body (the aggregator's next poll), and finds its own
// marker.
type PartialStore struct {
	up       *uploader
	reads    readAPI
	cfg      *Config
	m        *metrics
	pageSize int32 // ListObjectsV2 MaxKeys; S3's maximum, 1000, except in tests
}

// readAPI is what the partial store reads S3 with. The sink itself never reads (its role may
// not be allowed to), so the reads come with the store: the worker that writes partials needs
// only the sink's PUTs; the aggregator needs these too (deploy/PERMISSIONS.md).
type readAPI interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// PartialStore returns the sink's partial store, reading with reads (the sink's *s3.Client).
func (s *Sink) PartialStore(reads readAPI) *PartialStore {
	return &PartialStore{up: s.up, reads: reads, cfg: &s.cfg, m: s.m, pageSize: 1000}
}

// WritePartial stores partition p's partial of the window starting at start, replacing any
// earlier one (a replay writes the same bytes again). It returns once S3 has it.
func (s *PartialStore) WritePartial(ctx context.Context, start time.Time, p pipeline.Partition, body []byte) error {
	return s.up.put(ctx, "partial", s.cfg.key(layout.PartialKey(start, p)), "application/msgpack", "", body)
}

// ReadPartial returns one partial; a missing one is an error wrapping fs.ErrNotExist.
func (s *PartialStore) ReadPartial(ctx context.Context, start time.Time, p pipeline.Partition) ([]byte, error) {
	return s.AppendPartial(ctx, nil, start, p)
}

// AppendPartial is ReadPartial appending the partial to dst, for a reader that reuses one
// buffer for partial after partial (the aggregator's, ~27 KB per partition per window).
func (s *PartialStore) AppendPartial(ctx context.Context, dst []byte, start time.Time, p pipeline.Partition) ([]byte, error) {
	data, _, err := s.getAppend(ctx, dst, "partial", s.cfg.key(layout.PartialKey(start, p)))
	return data, err
}

// ListPartials calls fn for every partial of a window starting at or after from, in window
// order, until fn returns false: ListObjectsV2 from the window's prefix on (StartAfter), page
// by page. Keys under the prefix that are not partials are skipped.
func (s *PartialStore) ListPartials(ctx context.Context, from time.Time, fn func(time.Time, pipeline.Partition) bool) error {
	prefix := s.cfg.key(layout.PartialPrefix)
	in := &s3.ListObjectsV2Input{
		Bucket: &s.cfg.Bucket, Prefix: &prefix, MaxKeys: aws.Int32(s.pageSize),
		// Every key of the window starting at from sorts after its prefix without the "/",
		// and every key of an earlier window before it.
		StartAfter: aws.String(strings.TrimSuffix(s.cfg.key(layout.PartialWindowPrefix(from)), "/")),
	}
	strip := len(s.cfg.key("")) // the prefix and its "/"
	for {
		var out *s3.ListObjectsV2Output
		err := s.read(ctx, "partial", opList, func(ctx context.Context) error {
			var err error
			out, err = s.reads.ListObjectsV2(ctx, in)
			return err
		})
		if err != nil {
			return fmt.Errorf("s3: listing s3://%s/%s from %s: %w", s.cfg.Bucket, prefix, from.UTC().Format(time.RFC3339), err)
		}
		for _, o := range out.Contents {
			start, p, ok := layout.ParsePartialKey(aws.ToString(o.Key)[strip:])
			if !ok || start.Before(from) {
				continue
			}
			if !fn(start, p) {
				return nil
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// ClaimPublish creates w's publish marker with body unless it exists (PUT with
// If-None-Match: *) and reports whether the marker is this claimer's: created by this call,
// or by an earlier call with the same body that failed after its PUT landed. A body that
// identifies the claimer (the aggregator's fencing token and a nonce) lets a retried claim
// recognise its own marker. A lost claim costs one GET.
func (s *PartialStore) ClaimPublish(ctx context.Context, w pipeline.Window, body []byte) (bool, error) {
	_, ok, err := s.conditionalPut(ctx, "published", s.cfg.key(layout.PublishedKey(w)), "application/json", body, "")
	return ok, err
}

// LoadState returns the state object saved under name and its ETag. Like the anomaly state
// store, it lists before it gets: S3 answers a GET of a missing key with 403, not 404, to a
// role that may list the bucket only under a prefix, and "never saved" is the first start.
func (s *PartialStore) LoadState(ctx context.Context, name string) ([]byte, string, error) {
	key := s.cfg.key(layout.StateKey(name))
	var out *s3.ListObjectsV2Output
	err := s.read(ctx, "state", opList, func(ctx context.Context) error {
		var err error
		out, err = s.reads.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.cfg.Bucket, Prefix: &key, MaxKeys: aws.Int32(1)})
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("s3: loading state %s: listing: %w", key, err)
	}
	// The key sorts before every longer key it prefixes, so it is the first listed if it exists.
	if len(out.Contents) == 0 || aws.ToString(out.Contents[0].Key) != key {
		return nil, "", fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, key, fs.ErrNotExist)
	}
	return s.get(ctx, "state", key)
}

// SaveState replaces the state object under name if its ETag is still version (If-Match), or
// creates it if version is "" and there is none (If-None-Match: *), and returns the new ETag.
func (s *PartialStore) SaveState(ctx context.Context, name string, data []byte, version string) (string, bool, error) {
	return s.conditionalPut(ctx, "state", s.cfg.key(layout.StateKey(name)), "application/msgpack", data, version)
}

// conditionalPut PUTs body at key on condition: If-Match ifMatch, or If-None-Match: * when
// ifMatch is "". It returns the new ETag and true, or false when the condition failed.
func (s *PartialStore) conditionalPut(ctx context.Context, kind, key, contentType string, body []byte, ifMatch string) (string, bool, error) {
	in := &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key, ContentType: &contentType,
		ContentLength: aws.Int64(int64(len(body)))}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	if s.cfg.KMSKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, &s.cfg.KMSKeyID
	}
	var etag string
	failed, uncertain := false, false
	var err error
	for attempt := 0; ; attempt++ {
		err = s.up.retry(ctx, kind, opPut, func(ctx context.Context) error {
			in.Body = bytes.NewReader(body)
			out, err := s.up.api.PutObject(ctx, in)
			switch {
			case err == nil:
				etag = aws.ToString(out.ETag)
				return nil
			case conditionFailed(err):
				failed = true
				return nil
			}
			if _, transient := awsconf.Classify(ctx, err); transient {
				uncertain = true // this attempt may have been applied
			}
			return err
		})
		// S3 answers 409 ConditionalRequestConflict to conditional writes racing on one key,
		// and asks for a retry: the other writer may or may not have won.
		if err == nil || !conflict(err) || attempt == maxConflictRetries {
			break
		}
		uncertain = true
		t := time.NewTimer(time.Duration(attempt+1) * 50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", false, ctx.Err()
		}
	}
	if err != nil {
		s.m.objects.WithLabelValues(kind, "error").Inc()
		return "", false, fmt.Errorf("s3: conditional put s3://%s/%s: %w", s.cfg.Bucket, key, err)
	}
	if failed && (uncertain || ifMatch == "") {
		// An earlier attempt, or an earlier call that failed, may have written body before its
		// answer was lost. (A failed If-Match from an earlier call is the caller's to resolve:
		// the object's version moved, and the aggregator's save reads the state back.)
		cur, curTag, gerr := s.get(ctx, kind, key)
		if gerr == nil && bytes.Equal(cur, body) {
			failed, etag = false, curTag
		} else if gerr != nil && !errors.Is(gerr, fs.ErrNotExist) {
			return "", false, gerr
		}
	}
	if failed {
		s.m.objects.WithLabelValues(kind, "precondition_failed").Inc()
		return "", false, nil
	}
	s.m.objects.WithLabelValues(kind, "ok").Inc()
	return etag, true, nil
}

// conditionFailed reports S3's answer to a failed If-Match / If-None-Match (412), and the
// 404 of an If-Match on an object that no longer exists.
func conditionFailed(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "NoSuchKey")
}

// maxConflictRetries bounds the retries of a conditional PUT that S3 answered with 409.
const maxConflictRetries = 5

func conflict(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ConditionalRequestConflict"
}

// get returns an object and its ETag; a missing one is an error wrapping fs.ErrNotExist.
func (s *PartialStore) get(ctx context.Context, kind, key string) ([]byte, string, error) {
	return s.getAppend(ctx, nil, kind, key)
}

// getAppend is get appending the object to dst (each attempt from dst's length again).
func (s *PartialStore) getAppend(ctx context.Context, dst []byte, kind, key string) ([]byte, string, error) {
	data := dst
	var etag string
	missing := false
	err := s.read(ctx, kind, opGet, func(ctx context.Context) error {
		out, err := s.reads.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.cfg.Bucket, Key: &key}, quietChecksums)
		if err != nil {
			var nsk *types.NoSuchKey
			if errors.As(err, &nsk) {
				missing = true
				return nil
			}
			return err
		}
		defer out.Body.Close()
		etag = aws.ToString(out.ETag)
		if n := aws.ToInt64(out.ContentLength); out.ContentLength != nil && n >= 0 {
			// The size is known: read it into dst's room, growing dst at most once.
			data = slices.Grow(dst, int(n))
			_, err = io.ReadFull(out.Body, data[len(dst):len(dst)+int(n)])
			data = data[:len(dst)+int(n)]
			return err
		}
		b := bytes.NewBuffer(dst)
		_, err = b.ReadFrom(out.Body)
		data = b.Bytes()
		return err
	})
	switch {
	case err != nil:
		return dst, "", fmt.Errorf("s3: get s3://%s/%s: %w", s.cfg.Bucket, key, err)
	case missing:
		return dst, "", fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, key, fs.ErrNotExist)
	}
	return data, etag, nil
}

// quietChecksums stops the SDK from logging, for every GET of an object written without a
// checksum (moto's, and S3's single PUTs without one), that it did not validate one: the
// aggregator GETs every partial of every window.
func quietChecksums(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }

// read runs one read request (opGet or opList) under the retry policy and the gate.
func (s *PartialStore) read(ctx context.Context, kind, op string, fn func(context.Context) error) error {
	return s.cfg.Retry.Do(ctx, func(ctx context.Context) error {
		select {
		case s.up.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.up.gate }()
		s.m.requests.WithLabelValues(kind, op).Inc()
		return fn(ctx)
	}, func(reason string, err error) {
		if ctx.Err() != nil {
			return // the reader stopped (the aggregator's term ended): not a failure of S3
		}
		s.m.errors.WithLabelValues(reason).Inc()
		s.up.log.Warn("s3: request failed", "kind", kind, "op", op, "reason", reason, "err", err)
	})
}
