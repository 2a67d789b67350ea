package worker

import (
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/aggregator"
	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/s3"
)

// The policy choices the configuration leaves to the worker live here, in one place.

// partialStore is where every partition's partials go and what the aggregator reads back:
// sinks/s3.PartialStore and sinks/file.PartialStore.
type partialStore interface {
	pipeline.PartialWriter
	aggregator.Store
	load.Store         // every worker's load reports
	scaling.LoadReader // read back by the aggregator's sizing
}

// storePolicy chooses where partials and dead letters go: the S3 bucket when the S3 sink is
// on, because the bucket outlives the container (on ECS a local directory goes with the task)
// and every worker of a fleet must write its partials where the aggregator reads them; else
// the file sink's directory, which is a fleet of one's (or of processes sharing the directory).
// Config.Validate refuses a configuration with neither.
func storePolicy(fs *file.Sink, ss *s3.Sink, reads *awss3.Client) stores {
	switch {
	case ss != nil:
		return stores{partials: ss.PartialStore(reads), deadLetters: ss}
	case fs != nil:
		return stores{partials: fs.PartialStore(), deadLetters: fs}
	}
	return stores{}
}

// protectionWanted is the task scale-in protection rule (see ecs.ProtectionConfig): protected
// while one of the owned partitions is more than ecs.protection.behind behind its stream, that
// is while the task drains a backlog; never for keeping up with live traffic, however busy,
// because a protected task blocks scale-in and deployments. (It used to be "any record not yet
// durable", which under steady traffic is always true: protection was renewed forever.) The
// shutdown's part is the controller's (Drain).
func (a *Assembly) protectionWanted() bool {
	behind := a.tracker.Snapshot(time.Now()).Total.SecondsMax // NaN (unknown) compares false
	return behind > a.cfg.ECS.Protection.Behind.Seconds()
}
