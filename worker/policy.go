package worker

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/weirstream/weir/internal/writable"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/anomaly"
	"github.com/weirstream/weir/sinks/file"
	"github.com/weirstream/weir/sinks/s3"
)

// The policy choices the configuration leaves to the worker live here, in one place.

// deadLetterSink chooses where dead letters go: the S3 sink when it is on, because the bucket
// outlives the container (on ECS a local directory goes with the task); else the file sink.
// Config.Validate refuses a configuration with neither.
func deadLetterSink(fs *file.Sink, ss *s3.Sink) pipeline.DeadLetterSink {
	if ss != nil {
		return ss
	}
	if fs != nil {
		return fs
	}
	return nil
}

// anomalyStore chooses where the anomaly detectors' state lives: anomaly.state_dir when set;
// else the bucket, next to the outputs (kind=state/), because on ECS the container's disk does
// not survive the task; else the file sink's directory (<dir>/state); else nowhere, and the
// detectors learn again after a restart (which is logged). Offline (Check) no store is returned,
// since the analyzer reads its state from the store as it is built.
func (a *Assembly) anomalyStore() (anomaly.StateStore, error) {
	dir := a.cfg.Anomaly.StateDir
	switch {
	case dir != "":
	case a.s3State != nil && a.offline: // the store would read the bucket
		return nil, nil
	case a.s3State != nil:
		return a.s3State, nil
	case a.cfg.Sinks.File.Dir != "":
		dir = filepath.Join(a.cfg.Sinks.File.Dir, "state")
	default:
		a.log.Warn("anomaly detector state is not persisted (no anomaly.state_dir, S3 or file sink): it relearns after a restart")
		return nil, nil
	}
	// The store creates its directory; whether it will be able to is asked first, at the start
	// and in Check alike, because the store itself would only fail at its first snapshot.
	if err := writable.Dir(dir); err != nil {
		return nil, fmt.Errorf("anomaly.state_dir: %w", err)
	}
	if a.offline {
		return nil, nil
	}
	fs, err := anomaly.NewFileStore(dir)
	if err != nil {
		return nil, fmt.Errorf("anomaly.state_dir: %w", err)
	}
	return fs, nil
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
