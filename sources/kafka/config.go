package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Config configures the Kafka source (the worker's `kafka:` section).
type Config struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// Topics to consume. Required.
	Topics []string `yaml:"topics"`
	// Group is the consumer group; every worker of a fleet uses the same one. Default "weir".
	Group string `yaml:"group"`
	// ClientID identifies the worker to the brokers. Default "weir".
	ClientID string `yaml:"client_id"`
	// Start is where a partition without a committed offset starts: "earliest" (default: a new
	// deployment processes the retained backlog) or "latest".
	Start string `yaml:"start"`
	// FetchMaxWait bounds how long a broker holds a fetch open waiting for data. Default 100ms.
	// franz-go does not fetch a resumed partition while a fetch to its broker is in flight, so
	// this is also the worst-case delay before a partition resumes after backpressure, and
	// therefore how long the poll loop waits for a busy runner to take a batch before it
	// pauses the partition instead. With runners the bottleneck and partitions pausing and
	// resuming, a long wait delays every resume (BenchmarkBackpressure, bench/README.md); the
	// cost of a short one is a few more empty fetches a second when idle.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// FetchMaxBytes caps one fetch response. 0 derives it from the in-flight budget
	// (budget/32, between 1 MiB and 50 MiB), because the client buffers up to one fetch per
	// broker beyond what the budget has charged, and a compressed fetch takes several times its
	// size once decompressed and decoded into records.
	FetchMaxBytes int32 `yaml:"fetch_max_bytes"`
	// FetchMaxPartitionBytes caps one partition's share of a fetch response (a batch larger
	// than this still comes whole, so no partition is starved). 0 derives it: FetchMaxBytes/16,
	// between 64 KiB and 1 MiB. Small on purpose: event-time windows are aligned across
	// partitions, so a window closes only when every partition has passed it. With Kafka's
	// 1 MiB default a fetch fills from one or two partitions at a time while the others wait,
	// and runners that ran ahead stall on window credits: a backlog drains slower and in more
	// memory (bench/README.md).
	FetchMaxPartitionBytes int32 `yaml:"fetch_max_partition_bytes"`
	// MaxPollRecords caps the records taken from the client per poll. Default 10000.
	MaxPollRecords int `yaml:"max_poll_records"`
	// SessionTimeout and RebalanceTimeout are the group's; defaults 45s and 60s. The revoke
	// flush must finish within RebalanceTimeout.
	SessionTimeout   time.Duration `yaml:"session_timeout"`
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// CommitInterval spaces the commits of durable checkpoints to the group: one is sent as soon
	// as a checkpoint moves (a window became durable), at most one per interval. Default 1s:
	// commits are cheap, and a shorter interval means less replay after a crash (a kill replays
	// the open windows and at most this much more).
	CommitInterval time.Duration `yaml:"commit_interval"`
	// RevokeTimeout bounds how long a revoke waits for the revoked partitions' windows to
	// become durable before committing what is durable. Default 10s.
	RevokeTimeout time.Duration `yaml:"revoke_timeout"`
	// RevokeCommitTimeout is the time reserved, after that wait, for the synchronous commit of
	// what became durable. Default 5s. It is separate so that a sink too slow for the wait
	// cannot also cost the commit of what was durable long before: the next owner would
	// re-read all of it. RevokeTimeout + RevokeCommitTimeout must stay below
	// RebalanceTimeout, or the group moves on without this member's commit.
	RevokeCommitTimeout time.Duration `yaml:"revoke_commit_timeout"`
	TLS                 TLSConfig     `yaml:"tls"`
	SASL                SASLConfig    `yaml:"sasl"`
}

// DefaultConfig returns the defaults documented on Config (no brokers or topics).
func DefaultConfig() Config {
	return Config{
		Group:            "weir",
		ClientID:         "weir",
		Start:            "earliest",
		FetchMaxWait:     100 * time.Millisecond,
		MaxPollRecords:   10000,
		SessionTimeout:   45 * time.Second,
		RebalanceTimeout: 60 * time.Second,
		RevokeTimeout:    10 * time.Second,
		CommitInterval:   time.Second,

		RevokeCommitTimeout: 5 * time.Second,
	}
}

// Check does everything New does with c short of building the client, which connects at once:
// Validate, and the TLS and SASL settings (certificate files read and parsed, the AWS
// configuration for MSK IAM loaded). It is what `worker -check` runs for the Kafka source.
func (c Config) Check(ctx context.Context) error {
	if err := c.Validate(); err != nil {
		return err
	}
	_, err := c.authOpts(ctx)
	return err
}

// Validate returns errors naming the fields (under kafka.).
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: at least one broker is required"))
	}
	for i, b := range c.Brokers {
		if b == "" {
			errs = append(errs, fmt.Errorf("kafka.brokers[%d]: empty", i))
		}
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("kafka.topics: at least one topic is required"))
	}
	for i, t := range c.Topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("kafka.topics[%d]: empty", i))
		}
	}
	if c.Group == "" {
		errs = append(errs, errors.New("kafka.group: must not be empty"))
	}
	if c.Start != "earliest" && c.Start != "latest" {
		errs = append(errs, fmt.Errorf("kafka.start: %q is not one of earliest, latest", c.Start))
	}
	if c.FetchMaxWait < 10*time.Millisecond || c.FetchMaxWait > 5*time.Second {
		errs = append(errs, fmt.Errorf("kafka.fetch_max_wait: %v is not in [10ms, 5s]", c.FetchMaxWait))
	}
	if c.FetchMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("kafka.fetch_max_bytes: %d is negative", c.FetchMaxBytes))
	}
	if c.FetchMaxPartitionBytes < 0 {
		errs = append(errs, fmt.Errorf("kafka.fetch_max_partition_bytes: %d is negative", c.FetchMaxPartitionBytes))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, fmt.Errorf("kafka.max_poll_records: %d must be at least 1", c.MaxPollRecords))
	}
	if c.CommitInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("kafka.commit_interval: %v is below 100ms", c.CommitInterval))
	}
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("kafka.session_timeout: %v is below 1s", c.SessionTimeout))
	}
	switch {
	case c.RevokeTimeout <= 0:
		errs = append(errs, fmt.Errorf("kafka.revoke_timeout: %v must be positive", c.RevokeTimeout))
	case c.RevokeCommitTimeout <= 0:
		errs = append(errs, fmt.Errorf("kafka.revoke_commit_timeout: %v must be positive", c.RevokeCommitTimeout))
	case c.RevokeTimeout+c.RevokeCommitTimeout >= c.RebalanceTimeout:
		errs = append(errs, fmt.Errorf("kafka.revoke_commit_timeout: revoke_timeout %v + revoke_commit_timeout %v must be below rebalance_timeout (%v)",
			c.RevokeTimeout, c.RevokeCommitTimeout, c.RebalanceTimeout))
	}
	errs = append(errs, c.TLS.validate(), c.SASL.validate())
	return errors.Join(errs...)
}
