package kinesis

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/weirstream/weir/internal/awsconf"
)

// Start positions for shards that have no checkpoint yet.
const (
	StartTrimHorizon = "trim_horizon"
	StartLatest      = "latest"
	StartAtTimestamp = "at_timestamp"
)

// Config is the `source.kinesis` section of the worker's configuration.
type Config struct {
	// Stream is the Kinesis data stream to consume. Required.
	Stream string `yaml:"stream"`
	// LeaseTable is the DynamoDB table holding one lease (owner, counter, checkpoint) per
	// shard. Every worker of a fleet uses the same table; one table serves one stream. Default
	// "weir-leases" (the deploy templates' default).
	LeaseTable string `yaml:"lease_table"`
	// CreateTable creates the lease table (on-demand billing) when it does not exist. Default
	// true, for local runs and tests. The deploy templates create the table (or use an existing
	// one) and set it to false, granting no dynamodb:CreateTable: a missing table then fails the
	// start with its name.
	CreateTable *bool `yaml:"create_table"`
	// WorkerID names this worker as a lease owner. It must be unique in the fleet. Default: the
	// host name plus a random suffix, so a restarted task never mistakes its predecessor's
	// leases for its own.
	WorkerID string `yaml:"worker_id"`
	// LeaseDuration is how long a lease whose counter did not move is considered alive: a
	// worker that dies without releasing its leases loses them after this long, and its shards
	// stall for as long. Default 10s (the KCL's failover time): long enough for a few missed
	// renewals under load, short enough for a fast failover.
	LeaseDuration time.Duration `yaml:"lease_duration"`
	// RenewInterval is how often held leases are renewed and the lease table is scanned for
	// leases to take. Default LeaseDuration/3, so two renewals can fail before a lease expires.
	RenewInterval time.Duration `yaml:"renew_interval"`
	// ShardSyncInterval is how often the shard list is refreshed (ListShards) to create leases
	// for new shards. Default 60s; a worker that reads a shard to its end refreshes at once, so
	// this only bounds how late a reshard nobody has reached yet is seen.
	ShardSyncInterval time.Duration `yaml:"shard_sync_interval"`
	// CheckpointInterval is how often durable positions are written to the lease table. Each
	// write is one DynamoDB write unit per shard; a crash replays at most this much more.
	// Default 5s.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// Start is where a shard without a checkpoint starts when the lease table is first filled:
	// "trim_horizon" (default: the retained backlog is processed), "latest", or
	// "at_timestamp" (with StartTimestamp). Shards created later by a reshard always start at
	// their beginning, so nothing written to them is skipped.
	Start string `yaml:"start"`
	// StartTimestamp is the arrival time to start at with start "at_timestamp" (RFC 3339).
	StartTimestamp time.Time `yaml:"start_timestamp"`
	// Limit is the most records one GetRecords call returns. Default 10000 (Kinesis's maximum).
	Limit int32 `yaml:"limit"`
	// PollInterval is the wait between GetRecords calls of a shard that is caught up. Default
	// 1s: a shard may be read at most 5 times a second by all consumers together, and an idle
	// shard polled every second costs one call per second. A shard that is behind is read again
	// as soon as the limits allow (200ms per call, 2 MB/s).
	PollInterval time.Duration `yaml:"poll_interval"`
	// DrainTimeout bounds how long a shard this worker gives up while running (read to its end,
	// or handed to another worker for balance) waits for its windows to become durable before
	// the final checkpoint. Default 30s. If it passes, what is durable is checkpointed and the
	// rest is read again by the next owner (duplicates, no loss). A handover under way at
	// shutdown ends by the shutdown deadline too, abandoned if it must (README.md).
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Retry is the backoff on throttling, 5xx and network errors of every Kinesis and DynamoDB
	// call.
	Retry awsconf.Retry `yaml:"retry"`
}

// DefaultConfig returns the defaults documented on Config (no stream, a generated worker id).
func DefaultConfig() Config {
	create := true
	c := Config{
		LeaseTable:         "weir-leases",
		CreateTable:        &create,
		WorkerID:           defaultWorkerID(),
		LeaseDuration:      10 * time.Second,
		ShardSyncInterval:  time.Minute,
		CheckpointInterval: 5 * time.Second,
		Start:              StartTrimHorizon,
		Limit:              10000,
		PollInterval:       time.Second,
		DrainTimeout:       30 * time.Second,
	}
	c.Retry.ApplyDefaults()
	return c
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "weir"
	}
	return host + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

// renewInterval returns RenewInterval or its default.
func (c Config) renewInterval() time.Duration {
	if c.RenewInterval > 0 {
		return c.RenewInterval
	}
	return c.LeaseDuration / 3
}

func (c Config) createTable() bool { return c.CreateTable == nil || *c.CreateTable }

// Validate returns errors naming the fields (under source.kinesis.).
func (c Config) Validate() error {
	var errs []error
	if c.Stream == "" {
		errs = append(errs, errors.New("source.kinesis.stream: required"))
	}
	if c.LeaseTable == "" || len(c.LeaseTable) < 3 || len(c.LeaseTable) > 255 {
		errs = append(errs, fmt.Errorf("source.kinesis.lease_table: %q is not a DynamoDB table name (3-255 characters)", c.LeaseTable))
	}
	if c.WorkerID == "" {
		errs = append(errs, errors.New("source.kinesis.worker_id: must not be empty"))
	}
	if c.LeaseDuration < time.Second {
		errs = append(errs, fmt.Errorf("source.kinesis.lease_duration: %v is below 1s", c.LeaseDuration))
	}
	if r := c.renewInterval(); r <= 0 || r > c.LeaseDuration/2 {
		errs = append(errs, fmt.Errorf("source.kinesis.renew_interval: %v must be positive and at most half of lease_duration (%v)", r, c.LeaseDuration))
	}
	if c.ShardSyncInterval < time.Second {
		errs = append(errs, fmt.Errorf("source.kinesis.shard_sync_interval: %v is below 1s", c.ShardSyncInterval))
	}
	if c.CheckpointInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("source.kinesis.checkpoint_interval: %v is below 100ms", c.CheckpointInterval))
	}
	switch c.Start {
	case StartTrimHorizon, StartLatest:
	case StartAtTimestamp:
		if c.StartTimestamp.IsZero() {
			errs = append(errs, errors.New("source.kinesis.start_timestamp: required with start at_timestamp"))
		}
	default:
		errs = append(errs, fmt.Errorf("source.kinesis.start: %q is not one of trim_horizon, latest, at_timestamp", c.Start))
	}
	if c.Limit < 1 || c.Limit > 10000 {
		errs = append(errs, fmt.Errorf("source.kinesis.limit: %d is not in [1, 10000]", c.Limit))
	}
	if c.PollInterval < 200*time.Millisecond {
		errs = append(errs, fmt.Errorf("source.kinesis.poll_interval: %v is below 200ms (5 GetRecords calls per second per shard)", c.PollInterval))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("source.kinesis.drain_timeout: %v must be positive", c.DrainTimeout))
	}
	if err := c.Retry.Validate("source.kinesis.retry"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
