package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/weirstream/weir/sinks/layout"
)

// stateAPI is what StateStore needs of S3.
type stateAPI interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// StateStore keeps named state snapshots (the anomaly detectors') in the bucket, next to the
// window outputs, at layout.StateKey under the prefix. A PUT replaces an object whole, so a
// reader (or a crash) sees either the old snapshot or the new one. It implements the
// StateStore interface of pipeline/anomaly: Load of a name never saved returns an error
// wrapping fs.ErrNotExist.
type StateStore struct {
	api stateAPI
	cfg Config
}

// NewStateStore returns a store over api (an *s3.Client) in cfg's bucket and prefix.
func NewStateStore(api stateAPI, cfg Config) *StateStore {
	return &StateStore{api: api, cfg: cfg}
}

// Load returns the snapshot saved under name.
//
// It lists before it gets: S3 answers a GetObject of a missing key with 403 AccessDenied, not
// 404, unless the caller may list the whole bucket, which a task role scoped to its prefix may
// not (deploy/PERMISSIONS.md). A listing whose prefix is the key itself is within that scope
// and tells "never saved" (the normal first start) from "denied".
func (s *StateStore) Load(ctx context.Context, name string) ([]byte, error) {
	key := s.cfg.key(layout.StateKey(name))
	list, err := s.api.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.cfg.Bucket, Prefix: &key, MaxKeys: aws.Int32(1)})
	if err != nil {
		return nil, fmt.Errorf("s3: loading state %s: listing: %w", key, err)
	}
	// The key sorts before every longer key it prefixes, so it is the first listed if it exists.
	if len(list.Contents) == 0 || aws.ToString(list.Contents[0].Key) != key {
		return nil, fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, key, fs.ErrNotExist)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.cfg.Bucket, Key: &key}, quietChecksums)
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, key, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("s3: loading state %s: %w", key, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// Save replaces the snapshot under name (server-side encrypted with the sink's KMS key when
// one is configured).
func (s *StateStore) Save(ctx context.Context, name string, data []byte) error {
	key := s.cfg.key(layout.StateKey(name))
	ct := "application/msgpack"
	in := &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key, Body: bytes.NewReader(data), ContentType: &ct}
	if s.cfg.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = &s.cfg.KMSKeyID
	}
	if _, err := s.api.PutObject(ctx, in); err != nil {
		return fmt.Errorf("s3: saving state %s: %w", key, err)
	}
	return nil
}
