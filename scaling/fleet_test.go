package scaling

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/weirstream/weir/load"
	"github.com/weirstream/weir/pipeline"
)

// The fleet-sizing fixtures: reports of a 60 s period, partitions of topic "events" (Kafka) or
// stream "orders" (Kinesis).

var period0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// worker is a load report of a whole period with cpu CPU seconds; its records are its
// partitions'.
func worker(id string, vcpus, cpu float64, parts ...load.Partition) *load.Report {
	r := &load.Report{V: load.Version, Worker: id, Start: period0.UnixNano(), Seconds: 60, VCPUs: vcpus, CPUSeconds: cpu, Partitions: parts}
	for _, p := range parts {
		r.Records += p.Records
	}
	return r
}

// kp is a Kafka partition owned for the whole period, with rate records/s processed.
func kp(id int, rate float64) load.Partition {
	return load.Partition{Stream: "events", ID: strconv.Itoa(id), Records: int64(rate * 60), Seconds: 60,
		MillisBehind: load.Unknown, MillisBehindStart: load.Unknown}
}

// ks is a Kinesis shard owned for the whole period, with rate records/s processed while the
// reader went from fromMs to toMs behind.
func ks(id int, rate float64, fromMs, toMs int64) load.Partition {
	return load.Partition{Stream: "orders", ID: fmt.Sprintf("shardId-%012d", id), Records: int64(rate * 60), Seconds: 60,
		MillisBehind: toMs, MillisBehindStart: fromMs}
}

// topic is a Kafka view of n partitions: ends[i] and lags[i] (end − committed).
func topic(ends, lags []int64) []PartitionOffsets {
	out := make([]PartitionOffsets, len(ends))
	for i := range ends {
		out[i] = PartitionOffsets{Partition: pipeline.Partition{Stream: "events", ID: strconv.Itoa(i)}, End: ends[i], Committed: ends[i] - lags[i]}
	}
	return out
}

// stream is a Kinesis view of n shards (no offsets).
func stream(n int) []PartitionOffsets {
	out := make([]PartitionOffsets, n)
	for i := range out {
		out[i] = PartitionOffsets{Partition: pipeline.Partition{Stream: "orders", ID: fmt.Sprintf("shardId-%012d", i)}, End: Unknown, Committed: Unknown}
	}
	return out
}

// grown is v with each end advanced by rates[i] records/s for 60 s.
func grown(v []PartitionOffsets, rates ...float64) []PartitionOffsets {
	out := make([]PartitionOffsets, len(v))
	for i, p := range v {
		p.End += int64(rates[i%len(rates)] * 60)
		p.Committed += int64(rates[i%len(rates)] * 60)
		out[i] = p
	}
	return out
}

func repeat(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func zeros(n int) []int64 { return make([]int64, n) }

// TestFleetSizing measures a period's evidence and sizes the fleet from it: the table the
// issue asks for (Kafka and Kinesis, hot and cold partitions, more partitions than vCPUs, a
// Kinesis stream an hour behind, idle).
func TestFleetSizing(t *testing.T) {
	def := DefaultConfig()
	// 12 Kafka partitions, 1000 records/s each at first; every task 1 vCPU, 1000 records per
	// CPU second, 0.02 CPU s/s of overhead.
	before12 := topic([]int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, zeros(12))
	type want struct {
		desired   int
		reason    Reason
		arrival   float64
		lagSum    float64
		trueRate  float64
		current   int
		parts     int
		hottest   float64 // checked when non-zero
		backlogPT float64 // BacklogSecondsPerTask, checked when non-zero
	}
	cases := []struct {
		name string
		ev   Evidence
		want want
	}{
		{
			// The probe, fleet-wide. A hot task (4 partitions at 150 rec/s), a warm one
			// (4 at 40) and a cold one (4 at 5: 2 % busy). Per task, the cold one measured
			// 20/0.05 = 400 rec/s of capacity (the busy floor) and asked for 3 tasks, the hot
			// one (1000 rec/s) for 2, and Maximum gave 3. The fleet measures 780 records for
			// 0.84 CPU s/s: 929 rec/s per task, 1.2 tasks needed, spread so that the task with
			// the hottest partition keeps up: 2.
			name: "kafka hot and cold partitions: the cold task no longer inflates",
			ev: Evidence{Period: time.Minute, Elapsed: time.Minute, Before: before12,
				Partitions: grown(before12, 150, 150, 150, 150, 40, 40, 40, 40, 5, 5, 5, 5),
				Reports: []*load.Report{
					worker("hot", 1, 60*(0.6+0.02), kp(0, 150), kp(1, 150), kp(2, 150), kp(3, 150)),
					worker("warm", 1, 60*(0.16+0.02), kp(4, 40), kp(5, 40), kp(6, 40), kp(7, 40)),
					worker("cold", 1, 60*(0.02+0.02), kp(8, 5), kp(9, 5), kp(10, 5), kp(11, 5)),
				}},
			want: want{desired: 2, reason: ReasonScaleIn, arrival: 780, trueRate: 780 / 0.84, current: 3, parts: 12, hottest: 150.0 / 780},
		},
		{
			// 2 tasks of 2 vCPUs, 16 partitions each, flat out (4 CPU s/s): 8000 rec/s
			// processed of 9000 arriving. Averaged over 16 runners a task looked 1/8 busy and
			// 8× as capable as it is (the 8 ↔ 2 loop); in CPU it is 4000 rec/s per task.
			name: "kafka more partitions than vCPUs",
			ev: func() Evidence {
				b := topic(make([]int64, 32), zeros(32))
				lags := make([]int64, 32)
				for i := range lags {
					lags[i] = 1875 // 60 000 records behind in all, after a minute
				}
				now := grown(b, repeat(32, 9000.0/32)...)
				for i := range now {
					now[i].Committed = now[i].End - lags[i]
				}
				var a, c []load.Partition
				for i := range 16 {
					a = append(a, kp(i, 250))
					c = append(c, kp(16+i, 250))
				}
				return Evidence{Period: time.Minute, Elapsed: time.Minute, Before: b, Partitions: now,
					Reports: []*load.Report{worker("a", 2, 120, a...), worker("b", 2, 120, c...)}}
			}(),
			// demand 9000/0.7 + 60000/600 = 12957; at 4000 per task 3.24 tasks: 4 (8
			// partitions each).
			want: want{desired: 4, reason: ReasonScaleOut, arrival: 9000, lagSum: 60000, trueRate: 4000, current: 2, parts: 32,
				backlogPT: 60000.0 / 8000},
		},
		{
			// A stream of 8 shards an hour behind at 5000 records/s. Two tasks (1 vCPU, 2000
			// rec/s each) read 4000 rec/s and fall 12 s further behind each minute: each
			// shard's rate is 30000 records over 48 s of stream time, 625 rec/s, and its
			// backlog 625 × 3612 s. Per task, Kinesis had no record lag and no arrival rate,
			// and Desired said 1.
			name: "kinesis one hour behind at 5000 records/s scales out",
			ev: func() Evidence {
				var a, b []load.Partition
				for i := range 8 {
					p := ks(i, 500, 3600_000, 3612_000)
					if i < 4 {
						a = append(a, p)
					} else {
						b = append(b, p)
					}
				}
				return Evidence{Period: time.Minute, Partitions: stream(8),
					Reports: []*load.Report{worker("a", 1, 60, a...), worker("b", 1, 60, b...)}}
			}(),
			want: want{desired: 8, reason: ReasonClampedMax, arrival: 5000, lagSum: 5000 * 3612, trueRate: 2000, current: 2, parts: 8},
		},
		{
			// The same stream caught up: the readers keep pace (no change in MillisBehind).
			name: "kinesis caught up holds",
			ev: func() Evidence {
				var a, b []load.Partition
				for i := range 8 {
					p := ks(i, 625, 0, 0)
					if i < 4 {
						a = append(a, p)
					} else {
						b = append(b, p)
					}
				}
				// 2500 rec/s per task at 0.83 CPU s/s: 3000 per task, 2.4 tasks needed: 3
				// (3 shards for the busiest: 2.67 tasks' worth).
				return Evidence{Period: time.Minute, Partitions: stream(8),
					Reports: []*load.Report{worker("a", 1, 50, a...), worker("b", 1, 50, b...)}}
			}(),
			want: want{desired: 3, reason: ReasonScaleOut, arrival: 5000, trueRate: 3000, current: 2, parts: 8},
		},
		{
			// A reader catching up: MillisBehind fell from 60 s to 30 s, so the records it read
			// cover 90 s of stream time: 1000 rec/s per shard, 30 000 records left on each.
			// 2857 + 100 rec/s of demand at 3000 per task: the one task is enough.
			name: "kinesis catching up",
			ev: Evidence{Period: time.Minute, Partitions: stream(2),
				Reports: []*load.Report{worker("a", 1, 60, ks(0, 1500, 60_000, 30_000), ks(1, 1500, 60_000, 30_000))}},
			want: want{desired: 1, reason: ReasonInTolerance, arrival: 2000, lagSum: 2 * 1000 * 30, trueRate: 3000, current: 1, parts: 2},
		},
		{
			// Readers that read nothing while falling behind: no rate can be derived, but the
			// fleet is not idle.
			name: "kinesis stuck is not idle",
			ev: Evidence{Period: time.Minute, Partitions: stream(4),
				Reports: []*load.Report{worker("a", 1, 0.6, ks(0, 0, 5_000, 65_000), ks(1, 0, 5_000, 65_000)),
					worker("b", 1, 0.6, ks(2, 0, 0, 0), ks(3, 0, 0, 0))}},
			want: want{desired: 2, reason: ReasonRateUnknown, current: 2, parts: 4},
		},
		{
			// Shards just taken whose first GetRecords has not answered by the period's end
			// (a fleet restarted after a kill, every first read throttled): no records, and no
			// reading of how far behind they are. That is not an idle stream: an hour of backlog
			// looks the same, so hold, as for any stuck fleet, rather than ask for the lower
			// bound (a caught-up shard beside them does not make them caught up).
			name: "kinesis shards not read yet are not idle",
			ev: Evidence{Period: time.Minute, Partitions: stream(4),
				Reports: []*load.Report{worker("a", 1, 0.6, ks(0, 0, load.Unknown, load.Unknown), ks(1, 0, load.Unknown, load.Unknown)),
					worker("b", 1, 0.6, ks(2, 0, 0, 0), ks(3, 0, load.Unknown, load.Unknown))}},
			want: want{desired: 2, reason: ReasonRateUnknown, current: 2, parts: 4},
		},
		{
			name: "kinesis idle goes to the lower bound",
			ev: Evidence{Period: time.Minute, Partitions: stream(4),
				Reports: []*load.Report{worker("a", 1, 0.6, ks(0, 0, 0, 0), ks(1, 0, 0, 0)), worker("b", 1, 0.6, ks(2, 0, 0, 0), ks(3, 0, 0, 0))}},
			want: want{desired: 1, reason: ReasonIdle, current: 2, parts: 4},
		},
		{
			name: "kafka idle goes to the lower bound",
			ev: Evidence{Period: time.Minute, Elapsed: time.Minute, Before: before12, Partitions: before12,
				Reports: []*load.Report{worker("a", 1, 1, kp(0, 0), kp(1, 0)), worker("b", 1, 1, kp(2, 0))}},
			want: want{desired: 1, reason: ReasonIdle, current: 2, parts: 12},
		},
		{
			// A steady 1000 rec/s keeps 65 000 records in open windows (60 s windows, 5 s
			// lateness): not backlog.
			name: "kafka lag held by open windows is not backlog",
			ev: Evidence{Period: time.Minute, Elapsed: time.Minute, Hold: 65 * time.Second,
				Before:     topic([]int64{20000, 20000}, []int64{0, 0}),
				Partitions: topic([]int64{50000, 50000}, []int64{32500, 40000}),
				Reports:    []*load.Report{worker("a", 1, 0.7*60, kp(0, 500), kp(1, 500))}},
			// Partition 1 is 7500 records behind beyond its hold: 1428.6 + 12.5 rec/s of
			// demand for a task of 1428.6. Counting the held 65 000 as backlog would make it
			// 1537 rec/s, and forbid any scale-in (65 s to drain > 30 s).
			want: want{desired: 1, reason: ReasonInTolerance, arrival: 1000, lagSum: 7500, trueRate: 1000 / 0.7, current: 1, parts: 2,
				backlogPT: 7500 / (1000 / 0.7)},
		},
		{
			// A new aggregator has one view of the topic only: the processed rate stands in
			// for the arrival rate until the next period.
			name: "kafka first period of a term",
			ev: Evidence{Period: time.Minute, Partitions: topic([]int64{500, 500}, []int64{0, 0}),
				Reports: []*load.Report{worker("a", 1, 30, kp(0, 350), kp(1, 350))}},
			want: want{desired: 1, reason: ReasonSteady, arrival: 700, trueRate: 1400, current: 1, parts: 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, det := Measure(c.ev, def)
			d := Desired(in, def)
			w := c.want
			if d.DesiredTasks != w.desired || d.Reason != w.reason {
				t.Errorf("Desired = %d (%s), want %d (%s)\ninputs %+v\ndecision %+v", d.DesiredTasks, d.Reason, w.desired, w.reason, in, d)
			}
			if !nearRel(in.ArrivalRate, w.arrival) || !nearRel(in.LagSum, w.lagSum) || in.CurrentTasks != w.current || in.Partitions != w.parts {
				t.Errorf("inputs %+v: want arrival %v, lag %v, current %d, partitions %d", in, w.arrival, w.lagSum, w.current, w.parts)
			}
			if !nearRel(d.TrueRatePerTask, w.trueRate) {
				t.Errorf("true rate per task %v, want %v", d.TrueRatePerTask, w.trueRate)
			}
			if w.hottest != 0 && !nearRel(in.HottestShare, w.hottest) {
				t.Errorf("hottest share %v, want %v", in.HottestShare, w.hottest)
			}
			if w.backlogPT != 0 && !nearRel(d.BacklogSecondsPerTask, w.backlogPT) {
				t.Errorf("backlog seconds per task %v, want %v", d.BacklogSecondsPerTask, w.backlogPT)
			}
			if det.Reports != len(c.ev.Reports) || len(det.Workers) != len(c.ev.Reports) {
				t.Errorf("detail %+v", det)
			}
		})
	}
}

// Reports that cover part of the period (a worker that started during it, or stopped) count
// as tasks only if they cover half of it, and for what they cover; a report of more than the
// period (a late tick) counts for the period's share.
func TestMeasureWeighsPartialReports(t *testing.T) {
	full := worker("full", 1, 30, kp(0, 500))
	joined := worker("joined", 1, 5, kp(1, 500))
	joined.Seconds, joined.Records = 10, 5000
	late := worker("late", 2, 60, kp(2, 500))
	late.Seconds, late.Records, late.CPUSeconds = 120, 60000, 60
	unmeasured := worker("unmeasured", 1, -1, kp(3, 100))
	in, det := Measure(Evidence{Period: time.Minute, Reports: []*load.Report{full, joined, late, unmeasured}}, DefaultConfig())
	if in.CurrentTasks != 3 {
		t.Errorf("current tasks %d, want 3 (the one that joined 10 s before the end is not one yet)", in.CurrentTasks)
	}
	// records: 30000 + 5000 + 60000/2 + 6000; CPU: 30 + 5 + 60/2 + 60 (unmeasured: flat out).
	if !nearRel(in.ProcessedRate, 71000.0/60) || !nearRel(in.CPURate, 125.0/60) || !nearRel(in.VCPUsPerTask, 1.25) {
		t.Errorf("processed %v (want %v), cpu %v (want %v), vcpus %v", in.ProcessedRate, 71000.0/60, in.CPURate, 125.0/60, in.VCPUsPerTask)
	}
	if det.Workers[3].Worker != "unmeasured" || det.Workers[3].Utilization != -1 || det.Workers[0].Worker != "full" || det.Workers[0].Utilization != 0.5 {
		t.Errorf("workers %+v", det.Workers)
	}
	// Every report short: they are the fleet all the same.
	joined2 := *joined
	joined2.Worker = "joined2"
	if in, _ := Measure(Evidence{Period: time.Minute, Reports: []*load.Report{joined, &joined2}}, DefaultConfig()); in.CurrentTasks != 2 {
		t.Errorf("a fleet of new workers counts %d tasks, want 2", in.CurrentTasks)
	}
	if in, det := Measure(Evidence{Period: time.Minute}, DefaultConfig()); in != (Inputs{}) || det.Workers == nil {
		t.Errorf("no reports: %+v %+v", in, det)
	}
}

// Partitions the source lists and no report covers are named (a bounded list, a full count),
// and on Kinesis add no backlog; a shard that moved during the period is summed over its
// readers, with the MillisBehind of the one that owned it longer.
func TestMeasureUnreportedAndMovedPartitions(t *testing.T) {
	a := worker("a", 1, 30, ks(0, 100, 0, 0))
	moved := ks(1, 100, load.Unknown, 2000)
	moved.Seconds, moved.Records = 40, 4000
	b := worker("b", 1, 30, moved)
	early := ks(1, 100, 1000, 1000)
	early.Seconds, early.Records = 20, 2000
	c := worker("c", 1, 30, early)
	in, det := Measure(Evidence{Period: time.Minute, Partitions: stream(30), Reports: []*load.Report{a, b, c}}, DefaultConfig())
	if det.UnreportedCount != 28 || len(det.Unreported) != maxUnreported || det.Unreported[0] != "orders/shardId-000000000002" {
		t.Errorf("unreported %d %v", det.UnreportedCount, det.Unreported)
	}
	// Shard 1: 6000 records over 60 s, 2 s behind at the end (b's view: it owned it longer,
	// from an unknown start): 100 rec/s, 200 records of backlog.
	if !nearRel(in.ArrivalRate, 200) || !nearRel(in.LagSum, 200) || in.LagSeconds != 2 || in.Partitions != 30 {
		t.Errorf("inputs %+v", in)
	}
}

// A shard taken a few seconds before the period ended: its new reader re-read from the last
// checkpoint, 300 records in its 5 s, and is caught up. Over those 5 s that is 60 records/s on
// a shard that gets 2 (the rest of the stream, 3 shards at 2/s, says so): the records count
// over the period instead, 5 records/s.
func TestMeasureShardTakenDuringThePeriod(t *testing.T) {
	taken := ks(3, 0, load.Unknown, 0)
	taken.Seconds, taken.Records = 5, 300
	r := worker("a", 1, 1, ks(0, 2, 0, 0), ks(1, 2, 0, 0), ks(2, 2, 0, 0), taken)
	in, _ := Measure(Evidence{Period: time.Minute, Partitions: stream(4), Reports: []*load.Report{r}}, DefaultConfig())
	if !nearRel(in.ArrivalRate, 6+5) || in.LagSum != 0 {
		t.Errorf("arrival %v records/s, backlog %v: want 11 and 0", in.ArrivalRate, in.LagSum)
	}
}

func nearRel(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-6*max(1, b, -b)
}

// memLoad keeps the last load report written (load.Store).
type memLoad struct{ body []byte }

func (m *memLoad) WriteLoad(_ context.Context, _ time.Time, _ string, body []byte) error {
	m.body = body
	return nil
}

// A Kinesis reader's MillisBehindLatest is as old as its last read, and under load (a full
// pipeline, a slow API) that read can be seconds before the report. On a fake clock: a shard
// getting 40 records/s, its reader far behind and reading at pace (its position moving through
// pace seconds of the stream per second), the reads that give the two readings taken
// startAge before the first report's baseline and endAge before its end. The arrival measured
// through the load Writer's report must be the shard's 40 whatever the readings' ages: the
// period is 10 s, so a reader at pace 0.25 falls 7.5 s behind in it, and a reading 4 s older
// than the baseline makes 3 s more of that count as stream time lost.
func TestMeasureKinesisStaleReadings(t *testing.T) {
	const arrival = 40.0
	const behind0 = 30 * time.Second // how far behind the reader is at the baseline
	t0 := period0.Add(10 * time.Second)
	for _, c := range []struct {
		name             string
		pace             float64
		startAge, endAge time.Duration
	}{
		{"fresh readings, falling behind", 0.25, 0, 0},
		{"stale baseline, falling behind", 0.25, 4 * time.Second, 0},
		{"stale end, falling behind", 0.25, 0, 3 * time.Second},
		{"both stale, falling behind", 0.5, 3 * time.Second, 2 * time.Second},
		{"stale baseline, catching up", 2, 4 * time.Second, 500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			part := pipeline.Partition{Stream: "orders", ID: "shardId-000000000000"}
			// behindAt is the reader's MillisBehindLatest at wall time at: the stream's newest
			// record is as old as at, the reader's position moves pace s per s.
			behindAt := func(at time.Time) int64 {
				return (behind0 + time.Duration(float64(at.Sub(t0))*(1-c.pace))).Milliseconds()
			}
			counters := func(now, read time.Time) load.Counters {
				records := int64(arrival * c.pace * now.Sub(period0).Seconds())
				return load.Counters{Records: records, Partitions: []load.PartitionCounters{{
					Partition: part, Since: period0, Records: records, MillisBehind: behindAt(read), MillisBehindAt: read}}}
			}
			store := &memLoad{}
			var now, read time.Time
			w := &load.Writer{Worker: "a", Period: 10 * time.Second, VCPUs: 1, Store: store, CPU: func() (time.Duration, bool) { return 0, false },
				Counters: func() load.Counters { return counters(now, read) }}
			now, read = t0, t0.Add(-c.startAge)
			w.Begin(now)
			now, read = t0.Add(10*time.Second), t0.Add(10*time.Second-c.endAge)
			if _, err := w.Tick(context.Background(), now); err != nil {
				t.Fatal(err)
			}
			r, err := load.Decode(store.body)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := Measure(Evidence{Period: 10 * time.Second, Partitions: stream(1), Reports: []*load.Report{r}}, DefaultConfig())
			if math.Abs(in.ArrivalRate-arrival) > 0.02*arrival {
				t.Errorf("arrival %.1f records/s from %+v, want %v", in.ArrivalRate, r.Partitions[0], arrival)
			}
		})
	}
}
