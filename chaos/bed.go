package main

import "context"

// bed is the stream a trial's fleet reads, and the harness's view of it: the server holding the
// records (a kfake broker, kafkaBed; or kinesalite with the lease table on moto, kinesisBed),
// the workers' configuration for it, who owns which partition, and how far the fleet has
// committed. Everything else in a trial (the fleet, the schedule, the count) is the same for
// every source.
type bed interface {
	// config is the workers' `source:` section, and `aws:` where the source needs one.
	config() map[string]any
	// idVar is the environment variable that names a worker incarnation to the source (its
	// Kafka client id, its Kinesis worker id): the harness finds its partitions by it.
	idVar() string
	// connect fills the producer's plan with where to write.
	connect(plan *producePlan)
	// owners returns the partitions each worker owns, by its id, and whether that is a settled
	// state (a Kafka group in the middle of a rebalance shows no assignment).
	owners(ctx context.Context) (map[string][]int32, bool, error)
	// evict removes a killed worker from what the server still lists it in, once a real
	// server would have dropped it, and returns how many memberships it removed (0 where the
	// server expires them itself).
	evict(ctx context.Context, id string) (int, error)
	// produced is what the stream holds once the producer stopped, given the producer's own
	// tally of what the server acknowledged.
	produced(ctx context.Context, acked *tally) (*tally, error)
	// behind lists the partitions whose committed position is not yet past every record of
	// t, as "partition: committed/end"; empty once the fleet committed everything.
	behind(ctx context.Context, t *tally) ([]string, error)
	// describe names the stream for the report.
	describe() string
	close()
}
