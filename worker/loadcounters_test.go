package worker

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/scaling"
)

// reading is a behindReader of one shard with a settable reading, as *kinesis.Source answers:
// before the shard's first GetRecords (at zero), no reading.
type reading struct {
	ms int64
	at time.Time
}

func (r *reading) MillisBehind(pipeline.Partition) (int64, time.Time, bool) {
	return r.ms, r.at, !r.at.IsZero()
}

// loadStore keeps the last load report written.
type loadStore struct{ last []byte }

func (s *loadStore) WriteLoad(_ context.Context, _ time.Time, _ string, body []byte) error {
	s.last = body
	return nil
}

// A shard whose first GetRecords is not answered by the first load tick (a slow server, a
// reader that has just taken its lease) has no reading yet, not a reading of 0 ms behind. Taken
// for one, it was the start of the next report's stretch: the first real reading, far
// behind, made the reader seem to have fallen that far behind within one period, the stretch
// of the stream it read came out negative, and the sizing put the shard's arrival rate at its
// cap, 100 times what the reader processed. The fleet's signal then asked for the most tasks
// the shards allow, for one period, on a stream far slower than that.
func TestLoadReportOfAShardNotReadYet(t *testing.T) {
	const period = 2 * time.Second
	p := pipeline.Partition{Stream: "events", ID: "shardId-000000000000"}
	t0 := time.Unix(1_800_000_000, 0) // on the period grid
	r := &reading{}                   // not read yet
	var records int64
	store := &loadStore{}
	w := &load.Writer{Worker: "w", Period: period, VCPUs: 1, Store: store,
		CPU: func() (time.Duration, bool) { return time.Duration(records) * 10 * time.Millisecond, true },
		Counters: func() load.Counters {
			return load.Counters{Records: records, Partitions: []load.PartitionCounters{partitionCounters(r, p, t0, records)}}
		}}
	w.Begin(t0)

	// The first read answers 1.9 s in: 24 s behind; 40 records processed over the period.
	r.ms, r.at, records = 24_000, t0.Add(1900*time.Millisecond), 40
	if _, err := w.Tick(context.Background(), t0.Add(period)); err != nil {
		t.Fatal(err)
	}
	rep, err := load.Decode(store.last)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Partitions[0].MillisBehindStart; got != load.Unknown {
		t.Errorf("MillisBehindStart %d of a shard not read at the period's start, want Unknown (%d)", got, load.Unknown)
	}
	in, _ := scaling.Measure(scaling.Evidence{Period: period, Reports: []*load.Report{rep}}, scaling.DefaultConfig())
	if in.ArrivalRate > 2*in.ProcessedRate {
		t.Errorf("arrival %.0f records/s measured on a shard whose reader processed %.0f records/s and was then first read: want no more than twice that",
			in.ArrivalRate, in.ProcessedRate)
	}
}
