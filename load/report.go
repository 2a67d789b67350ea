package load

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// Report is one worker's load over (at most) one scaling period.
type Report struct {
	// V is the format version, Version.
	V int `msgpack:"v" json:"v"`
	// Worker names the process that wrote the report (the ECS task id, else host and pid).
	Worker string `msgpack:"worker" json:"worker"`
	// Start is the start of the period the report belongs to, Unix ns on the period grid.
	Start int64 `msgpack:"start" json:"start"`
	// Seconds is the time the report measures: the period, or less for the first report of a
	// worker that started during it (more only when a tick came late).
	Seconds float64 `msgpack:"seconds" json:"seconds"`
	// VCPUs is how much CPU the task may use: the ECS task's CPU limit, else the cgroup CPU
	// quota, else GOMAXPROCS. A task processing flat out spends VCPUs CPU seconds per second.
	VCPUs float64 `msgpack:"vcpus" json:"vcpus"`
	// Records is how many records the worker processed (folded into windows or dead-lettered),
	// over every partition it owned during Seconds, including those it no longer owns.
	Records int64 `msgpack:"records" json:"records"`
	// CPUSeconds is the CPU time the whole process spent (user + system: decoding, fetching,
	// GC, sinks, the aggregator's own work where it runs), or -1 when it could not be
	// measured. Unlike goroutine busy time it counts what runners sharing vCPUs really cost.
	CPUSeconds float64 `msgpack:"cpu_seconds" json:"cpu_seconds"`
	// Partitions are the partitions the worker owns at the end of Seconds.
	Partitions []Partition `msgpack:"partitions" json:"partitions"`
}

// Partition is one owned partition's share of a Report.
type Partition struct {
	Stream string `msgpack:"stream" json:"stream"`
	ID     string `msgpack:"id" json:"id"`
	// Records is how many of the partition's records the worker processed in Seconds.
	Records int64 `msgpack:"records" json:"records"`
	// Seconds is how long, within the report's Seconds, the worker owned the partition.
	Seconds float64 `msgpack:"seconds" json:"seconds"`
	// MillisBehind is Kinesis' MillisBehindLatest at the end of Seconds, MillisBehindStart at
	// its start; Unknown on Kafka, and MillisBehindStart for a partition taken during the
	// period. Their difference is how far the reader fell behind (or caught up) in stream
	// time, from which the shard's arrival rate follows (scaling.Sizer).
	MillisBehind      int64 `msgpack:"millis_behind" json:"millis_behind"`
	MillisBehindStart int64 `msgpack:"millis_behind_start" json:"millis_behind_start"`
	// MillisBehindAt and MillisBehindStartAt are when the reads that gave MillisBehind and
	// MillisBehindStart were answered, Unix ns; 0 when unknown (a report from a build before
	// them, or a source that does not tell). Readings are as old as the reader's last read,
	// which under load can be seconds before the report's end.
	MillisBehindAt      int64 `msgpack:"millis_behind_at,omitempty" json:"millis_behind_at,omitempty"`
	MillisBehindStartAt int64 `msgpack:"millis_behind_start_at,omitempty" json:"millis_behind_start_at,omitempty"`
}

// Unknown marks a MillisBehind the source cannot tell (Kafka) or the worker did not see.
const Unknown int64 = -1

// Version is the Report format this build writes and reads.
const Version = 1

// maxPartitions bounds what one report may list: a decoder must not allocate without limit
// for a damaged object, and no worker owns more partitions than a topic can have.
const maxPartitions = 1 << 17

// Encode returns r's bytes (msgpack). Reports are not replayed, so the bytes need not be
// deterministic; they are anyway, as struct fields go in a fixed order.
func Encode(r *Report) ([]byte, error) {
	if r.V != Version {
		return nil, fmt.Errorf("load report: version %d, this build writes %d", r.V, Version)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	b, err := msgpack.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	return b, nil
}

// ErrVersion is wrapped by Decode for a report of another format version.
var ErrVersion = errors.New("load report: unsupported format version")

// Decode parses and checks a report. A damaged object (trailing bytes, negative or non-finite
// figures, another version) is an error, never a report: one bad object must not steer the
// fleet's size.
func Decode(b []byte) (*Report, error) {
	rd := bytes.NewReader(b)
	var r Report
	if err := msgpack.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("load report: %d bytes after the report", rd.Len())
	}
	if r.V != Version {
		return nil, fmt.Errorf("%w: %d, this build reads %d", ErrVersion, r.V, Version)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Report) validate() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("load report of %q: %s", r.Worker, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Worker == "":
		return fail("no worker")
	case !finite(r.Seconds) || r.Seconds <= 0:
		return fail("seconds %v", r.Seconds)
	case !finite(r.VCPUs) || r.VCPUs <= 0:
		return fail("vcpus %v", r.VCPUs)
	case r.Records < 0:
		return fail("records %d", r.Records)
	case !finite(r.CPUSeconds) || (r.CPUSeconds < 0 && r.CPUSeconds != -1):
		return fail("cpu seconds %v", r.CPUSeconds)
	case len(r.Partitions) > maxPartitions:
		return fail("%d partitions, at most %d", len(r.Partitions), maxPartitions)
	}
	seen := make(map[[2]string]bool, len(r.Partitions))
	for _, p := range r.Partitions {
		k := [2]string{p.Stream, p.ID}
		switch {
		case p.ID == "":
			return fail("a partition of stream %q without id", p.Stream)
		case seen[k]:
			return fail("partition %s/%s twice", p.Stream, p.ID)
		case p.Records < 0 || !finite(p.Seconds) || p.Seconds < 0:
			return fail("partition %s/%s: records %d seconds %v", p.Stream, p.ID, p.Records, p.Seconds)
		case p.MillisBehind < Unknown || p.MillisBehindStart < Unknown:
			return fail("partition %s/%s: millis behind %d, %d", p.Stream, p.ID, p.MillisBehindStart, p.MillisBehind)
		case p.MillisBehindAt < 0 || p.MillisBehindStartAt < 0:
			return fail("partition %s/%s: millis behind read at %d, %d", p.Stream, p.ID, p.MillisBehindStartAt, p.MillisBehindAt)
		}
		seen[k] = true
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
