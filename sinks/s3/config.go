// Package s3 writes window outputs to Amazon S3: reports (one newline-delimited JSON object per
// report kind, name and window), dead letters and msgpack partials, under deterministic Hive-style keys (sinks/layout) so a
// replay overwrites instead of duplicating and Athena can query everything (deploy/athena).
package s3

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weirstream/weir/internal/awsconf"
)

// minPartSize is S3's smallest multipart part (the last part excepted).
const minPartSize = 5 << 20

// Config is the `s3:` section of weir's configuration.
type Config struct {
	// Bucket receives every object. Required.
	Bucket string `yaml:"bucket"`
	// Prefix is prepended to every key ("weir/prod" -> weir/prod/kind=report/...). Default none.
	Prefix string `yaml:"prefix"`
	// Gzip compresses newline-delimited JSON objects (.json.gz; Athena reads them natively).
	// Default true.
	Gzip *bool `yaml:"gzip"`
	// KMSKeyID, when set, encrypts every object with SSE-KMS under this key (ID, ARN or alias).
	// Default none (the bucket's default encryption applies, SSE-S3 on new buckets).
	KMSKeyID string `yaml:"kms_key_id"`
	// PartSize is the multipart part size; objects larger than one part are uploaded in parts,
	// each retried on its own. Default 8 MiB (S3's minimum is 5 MiB; 10000 parts at most).
	PartSize int64 `yaml:"part_size"`
	// Concurrency bounds the PUTs (objects or parts) in flight at once. Default 4.
	Concurrency int `yaml:"concurrency"`
	// Retry is the backoff on SlowDown, 5xx and network errors.
	Retry awsconf.Retry `yaml:"retry"`
}

// ApplyDefaults fills zero fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	if c.Gzip == nil {
		t := true
		c.Gzip = &t
	}
	if c.PartSize == 0 {
		c.PartSize = 8 << 20
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	c.Retry.ApplyDefaults()
}

// Validate reports invalid fields by their configuration path.
func (c *Config) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("s3.bucket: must not be empty"))
	} else if len(c.Bucket) < 3 || len(c.Bucket) > 63 || strings.ContainsAny(c.Bucket, "/_ ") {
		errs = append(errs, fmt.Errorf("s3.bucket: %q is not a valid bucket name", c.Bucket))
	}
	if strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") {
		errs = append(errs, fmt.Errorf("s3.prefix: must not start or end with \"/\", got %q", c.Prefix))
	}
	if c.PartSize < minPartSize {
		errs = append(errs, fmt.Errorf("s3.part_size: must be at least %d (5 MiB), got %d", minPartSize, c.PartSize))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("s3.concurrency: must be in [1, 64], got %d", c.Concurrency))
	}
	if err := c.Retry.Validate("s3.retry"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// key returns the full object key for a layout key.
func (c *Config) key(layoutKey string) string {
	if c.Prefix == "" {
		return layoutKey
	}
	return c.Prefix + "/" + layoutKey
}
