package s3

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/weirstream/weir/internal/awsconf"
)

// objectAPI is what the sink needs of S3: single PUTs and multipart uploads (nothing that
// reads or lists: deploy/PERMISSIONS.md lists what each call needs). *s3.Client implements it;
// tests wrap it to inject faults.
type objectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// NewClient returns an S3 client for awsCfg, at aws.endpoints.s3 when that is set, path-style
// when conf says so (local servers).
func NewClient(awsCfg aws.Config, conf *awsconf.Config, optFns ...func(*s3.Options)) *s3.Client {
	pathStyle, endpoint := conf.PathStyle(), conf.BaseEndpoint(awsconf.S3)
	optFns = append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		if endpoint != nil {
			o.BaseEndpoint = endpoint
		}
	}}, optFns...)
	return s3.NewFromConfig(awsCfg, optFns...)
}

// uploader PUTs whole objects, retried with backoff; bodies larger than a part go up as a
// multipart upload whose parts are retried one by one.
type uploader struct {
	api  objectAPI
	cfg  *Config
	m    *metrics
	log  *slog.Logger
	gate chan struct{} // bounds PUTs in flight (cfg.Concurrency)
}

// put writes body to key and returns once S3 has it (or gives up). Bodies are byte slices so
// every attempt can re-read them: a seekable body is also what request signing over plain
// HTTP needs.
func (u *uploader) put(ctx context.Context, kind, key, contentType, contentEncoding string, body []byte) error {
	start := time.Now()
	var err error
	if int64(len(body)) > u.cfg.PartSize {
		err = u.multipart(ctx, kind, key, contentType, contentEncoding, body)
	} else {
		err = u.retry(ctx, kind, opPut, func(ctx context.Context) error {
			in := &s3.PutObjectInput{Bucket: &u.cfg.Bucket, Key: &key, Body: bytes.NewReader(body),
				ContentLength: aws.Int64(int64(len(body))), ContentType: &contentType}
			if contentEncoding != "" {
				in.ContentEncoding = &contentEncoding
			}
			if u.cfg.KMSKeyID != "" {
				in.ServerSideEncryption, in.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, &u.cfg.KMSKeyID
			}
			_, err := u.api.PutObject(ctx, in)
			return err
		})
	}
	if err != nil {
		u.m.objects.WithLabelValues(kind, "error").Inc()
		return fmt.Errorf("s3: put s3://%s/%s: %w", u.cfg.Bucket, key, err)
	}
	u.m.objects.WithLabelValues(kind, "ok").Inc()
	u.m.objectBytes.WithLabelValues(kind).Observe(float64(len(body)))
	u.m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	return nil
}

func (u *uploader) multipart(ctx context.Context, kind, key, contentType, contentEncoding string, body []byte) error {
	create := &s3.CreateMultipartUploadInput{Bucket: &u.cfg.Bucket, Key: &key, ContentType: &contentType}
	if contentEncoding != "" {
		create.ContentEncoding = &contentEncoding
	}
	if u.cfg.KMSKeyID != "" {
		create.ServerSideEncryption, create.SSEKMSKeyId = types.ServerSideEncryptionAwsKms, &u.cfg.KMSKeyID
	}
	var id *string
	if err := u.retry(ctx, kind, opCreateMultipart, func(ctx context.Context) error {
		out, err := u.api.CreateMultipartUpload(ctx, create)
		if err == nil {
			id = out.UploadId
		}
		return err
	}); err != nil {
		return err
	}
	var parts []types.CompletedPart
	err := func() error {
		for n, off := int32(1), int64(0); off < int64(len(body)); n, off = n+1, off+u.cfg.PartSize {
			part := body[off:min(off+u.cfg.PartSize, int64(len(body)))]
			if err := u.retry(ctx, kind, opUploadPart, func(ctx context.Context) error {
				out, err := u.api.UploadPart(ctx, &s3.UploadPartInput{Bucket: &u.cfg.Bucket, Key: &key, UploadId: id,
					PartNumber: aws.Int32(n), Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part)))})
				if err == nil {
					parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
				}
				return err
			}); err != nil {
				return err
			}
		}
		return u.retry(ctx, kind, opCompleteMultipart, func(ctx context.Context) error {
			_, err := u.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &u.cfg.Bucket, Key: &key,
				UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
			return err
		})
	}()
	if err != nil {
		// Abort so the parts stop costing storage; best effort with a fresh context, since ctx
		// may be what ended. A bucket lifecycle rule (AbortIncompleteMultipartUpload) is the
		// backstop for aborts that fail too.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		u.m.requests.WithLabelValues(kind, opAbortMultipart).Inc()
		if _, aerr := u.api.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &u.cfg.Bucket, Key: &key, UploadId: id}); aerr != nil {
			u.log.Warn("s3: abort multipart upload failed", "key", key, "err", aerr)
		}
		return err
	}
	u.m.multipart.Inc()
	return nil
}

// retry runs one S3 call (op, for the request counter) under the retry policy and the
// concurrency gate, counting requests and failed attempts.
func (u *uploader) retry(ctx context.Context, kind, op string, call func(context.Context) error) error {
	return u.cfg.Retry.Do(ctx, func(ctx context.Context) error {
		select {
		case u.gate <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-u.gate }()
		u.m.requests.WithLabelValues(kind, op).Inc()
		return call(ctx)
	}, func(reason string, err error) {
		u.m.errors.WithLabelValues(reason).Inc()
		u.log.Warn("s3: request failed", "kind", kind, "reason", reason, "err", err)
	})
}
