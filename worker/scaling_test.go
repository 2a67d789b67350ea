package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/scaling"
)

// The fleet's scaling signal end to end: real workers, a real source, a scripted load. Each
// worker's load reports state a known cost (the Hooks' CPU clock: a fixed CPU time per record,
// one vCPU), so one task's capacity is known; the load changes in phases, and the signal the
// aggregator publishes must follow it: the arrival rate it measures, the DesiredTasks the
// policy asks for, zeros when idle, one series per service from one worker only.

// scalingPhase is one stretch of the scripted load and the DesiredTasks it must lead to.
type scalingPhase struct {
	rate    int // records per second
	desired int
	reason  scaling.Reason // checked when not empty
}

// signalLog polls GET /v1/scaling on every worker and keeps what the aggregator answered.
type signalLog struct {
	mu      sync.Mutex
	signals []scaling.Signal
	// answered counts the 200s per worker; notAggregator the 404s that said so.
	answered, notAggregator []int
}

func (l *signalLog) poll(ctx context.Context, t *testing.T, addrs []string) {
	l.answered, l.notAggregator = make([]int, len(addrs)), make([]int, len(addrs))
	for ctx.Err() == nil {
		for i, addr := range addrs {
			res, err := http.Get("http://" + addr + "/v1/scaling")
			if err != nil {
				continue
			}
			var body map[string]json.RawMessage
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			l.mu.Lock()
			switch res.StatusCode {
			case http.StatusOK:
				l.answered[i]++
				var s scaling.Signal
				raw, _ := json.Marshal(body)
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Error(err)
				}
				if n := len(l.signals); n == 0 || !l.signals[n-1].Time.Equal(s.Time) {
					l.signals = append(l.signals, s)
				}
			case http.StatusNotFound:
				if string(body["aggregator"]) == "false" {
					l.notAggregator[i]++
				}
			}
			l.mu.Unlock()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// last returns the last signal measured entirely within [from, to).
func (l *signalLog) last(from, to time.Time, period time.Duration) (scaling.Signal, bool) {
	ss := l.latest(from, to, period, 1)
	if len(ss) == 0 {
		return scaling.Signal{}, false
	}
	return ss[0], true
}

// balanced says the last signal saw n workers owning parts ÷ n partitions each.
func (l *signalLog) balanced(n, parts int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.signals) == 0 || l.signals[len(l.signals)-1].Fleet == nil {
		return false
	}
	ws := l.signals[len(l.signals)-1].Fleet.Workers
	for _, w := range ws {
		if w.Partitions*n != parts {
			return false
		}
	}
	return len(ws) == n
}

// latest returns the last n signals (or fewer) measured entirely within [from, to), oldest
// first.
func (l *signalLog) latest(from, to time.Time, period time.Duration, n int) []scaling.Signal {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []scaling.Signal
	for i := len(l.signals) - 1; i >= 0 && len(out) < n; i-- {
		s := l.signals[i]
		if start := s.Time.Add(-period); !start.Before(from) && !s.Time.After(to) {
			out = append([]scaling.Signal{s}, out...)
		}
	}
	return out
}

// await returns latest(from, to, period, n), waiting past to while fewer than n are in: the
// signal of a period that ends at to is published Delay (period/4) after it, plus the time
// the sizing takes, which under CPU load came to more than the test's slack. At most two
// periods past to; the signals counted are the same, measured within [from, to).
func (l *signalLog) await(from, to time.Time, period time.Duration, n int) []scaling.Signal {
	deadline := to.Add(2 * period)
	for {
		ss := l.latest(from, to, period, n)
		if len(ss) == n || time.Now().After(deadline) {
			return ss
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runPhases drives produce through the phases, each long enough for two whole periods after
// the first one that straddles the change, and checks the last signal of each, and the
// arrival rate over the last two. Every signal must come from the source's own view (view:
// its partition count and where the arrival rate came from).
func runPhases(t *testing.T, phases []scalingPhase, period time.Duration, log *signalLog, view sourceSeen, sent *tally, produce func(rate int)) {
	t.Helper()
	for _, ph := range phases {
		from := time.Now()
		produce(ph.rate)
		time.Sleep(4*period + period/2)
		last2 := log.latest(from, time.Now(), period, 2)
		if len(last2) < 2 {
			t.Errorf("%d records/s: %d signals measured within the phase, want 2 at least", ph.rate, len(last2))
			continue
		}
		s := last2[1]
		in, d := s.Inputs, s.Decision
		// Compared with what the producer got appended over the same two periods: on a loaded
		// machine a put can take long enough to move records into the next period, and a
		// reader polls a caught-up shard once a second (Kinesis), so a record appended late in
		// one period of two seconds is read in the next.
		actual := sent.rate(last2[0].Time.Add(-period), s.Time)
		arrival := (last2[0].Inputs.ArrivalRate + in.ArrivalRate) / 2
		t.Logf("%d records/s (%.0f appended over two periods, %.0f measured): arrival %.0f, processed %.0f, current %d, true rate %.0f, desired %d (%s), backlog %.1fs",
			ph.rate, actual, arrival, in.ArrivalRate, in.ProcessedRate, in.CurrentTasks, d.TrueRatePerTask, d.DesiredTasks, d.Reason, d.BacklogSecondsPerTask)
		if d.DesiredTasks != ph.desired || (ph.reason != "" && d.Reason != ph.reason) {
			t.Errorf("%d records/s: DesiredTasks %d (%s), want %d %s", ph.rate, d.DesiredTasks, d.Reason, ph.desired, ph.reason)
		}
		if math.Abs(arrival-actual) > 0.25*actual+1 {
			t.Errorf("%d records/s: the aggregator measured %.0f records/s arriving over two periods, %.0f were appended", ph.rate, arrival, actual)
		}
		if ph.rate == 0 && (d.BacklogSecondsPerTask != 0 || in.LagSum != 0) {
			t.Errorf("idle: backlog %v s, %v records; want zeros", d.BacklogSecondsPerTask, in.LagSum)
		}
		if s.Fleet == nil || s.Fleet.Reports != 2 || in.CurrentTasks != 2 {
			t.Errorf("%d records/s: %+v reports, %d current tasks; want both workers'", ph.rate, s.Fleet, in.CurrentTasks)
		}
		view.check(t, s)
	}
}

// sourceSeen is what a signal must say of the source's view.
type sourceSeen struct {
	partitions  int
	arrivalFrom string
}

func (v sourceSeen) check(t *testing.T, s scaling.Signal) {
	t.Helper()
	if s.Inputs.Partitions != v.partitions || s.Fleet == nil || s.Fleet.ArrivalFrom != v.arrivalFrom {
		t.Errorf("signal of %s: %d partitions, arrival from %q; want %d from %q (the source's view)",
			s.Time.Format(time.TimeOnly), s.Inputs.Partitions, s.Fleet.ArrivalFrom, v.partitions, v.arrivalFrom)
	}
}

// scalingWorkers runs n workers of cfg, each with its own CPU clock of cost per record and one
// vCPU, an HTTP port and an EMF file; it returns their addresses and EMF files.
func scalingWorkers(t *testing.T, n int, cost time.Duration, cfgFor func(i int) Config, more ...func(*Deps)) (addrs, emfs []string, stop func()) {
	t.Helper()
	var stops []func() error
	for i := range n {
		cfg := cfgFor(i)
		cfg.HTTP.Addr = "127.0.0.1:0"
		cfg.ServiceName = "weir-test"
		deps := testDeps()
		for _, m := range more {
			m(&deps)
		}
		var self atomic.Pointer[Assembly]
		deps.Hooks.CPU = func() (time.Duration, bool) {
			if w := self.Load(); w != nil {
				return time.Duration(w.Stats().Records) * cost, true
			}
			return 0, true
		}
		deps.Hooks.VCPUs = 1
		w, stop := runWorker(t, cfg, deps)
		self.Store(w)
		addrs, emfs, stops = append(addrs, w.srv.addr()), append(emfs, cfg.Sinks.CloudWatch.EMF.Path), append(stops, stop)
	}
	return addrs, emfs, func() {
		for _, s := range stops {
			if err := s(); err != nil {
				t.Error(err)
			}
		}
	}
}

// checkSignalSeries reads the workers' EMF files: DesiredTasks was published, only by workers
// that held the aggregator's seat, one series with the service's dimension alone; every
// worker published its own health counts.
func checkSignalSeries(t *testing.T, emfs []string, log *signalLog) {
	t.Helper()
	desired := make([]int, len(emfs))
	for i, f := range emfs {
		health := 0
		for _, line := range emfLines(t, f) {
			if _, ok := line["DeadLetters"]; ok {
				health++
			}
			if _, ok := line[scaling.MetricDesiredTasks]; !ok {
				continue
			}
			desired[i]++
			dims := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)
			if len(dims) != 1 || len(dims[0].([]any)) != 1 || dims[0].([]any)[0] != "ServiceName" || line["TaskId"] != nil {
				t.Errorf("worker %d published DesiredTasks with dimensions %v: want ServiceName alone", i, dims)
			}
		}
		if health == 0 {
			t.Errorf("worker %d published no health counts", i)
		}
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := range emfs {
		if desired[i] > 0 && log.answered[i] == 0 {
			t.Errorf("worker %d published DesiredTasks %d times but never answered as the aggregator", i, desired[i])
		}
		if log.answered[i] == 0 && log.notAggregator[i] == 0 {
			t.Errorf("worker %d answered /v1/scaling neither as the aggregator nor as not the aggregator", i)
		}
	}
	if n := desired[0] + desired[1]; n == 0 || (desired[0] > 0 && desired[1] > 0) {
		t.Errorf("DesiredTasks published %v times by the two workers: want one of them only", desired)
	}
}

// Kafka: two workers on 8 partitions, a task doing 1000 records/s flat out. 500 records/s
// need 0.71 tasks: 1; 2400 need 3.4: 4 (2 partitions each); nothing: the lower bound, zeros.
//
// Each worker really does at most 1000 records/s (capacityOp), the rate its CPU clock states.
// Workers that processed 2400 records/s while their clock said two tasks were flat out at
// 2000 were sized from a capped CPU: a true rate of processed ÷ 2, so 2.86 × arrival ÷
// processed tasks, 7 % above the 3-or-4 boundary; on a loaded machine a period that
// processed a little more than arrived came out at 3.
func TestFleetScalingFollowsTheLoadOnKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted load")
	}
	const parts, cost = 8, time.Millisecond
	period := 2 * time.Second
	c, cl := newTopic(t, parts)
	dir := t.TempDir()
	addrs, emfs, stop := scalingWorkers(t, 2, cost, func(i int) Config {
		cfg := kafkaConfig(c, "scaling", dir)
		// Small batches: a runner counts a batch's records once it has folded them all, and
		// at 1000 records/s a large batch would move its records into the next period.
		cfg.Source.Kafka.MaxPollRecords = 50
		cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(dir, fmt.Sprintf("metrics-%d.emf", i))
		cfg.Scaling.Period = period
		cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
		return cfg
	}, func(d *Deps) { d.Hooks.Operators = []pipeline.Operator{capacityOp{&capacity{cost: cost}}} })
	followScript(t, addrs, emfs, stop, 2*period, period, sourceSeen{parts, "end-offsets"}, spread(t, cl, parts), []scalingPhase{
		{rate: 500, desired: 1},
		{rate: 2400, desired: 4, reason: scaling.ReasonScaleOut},
		{rate: 0, desired: 1, reason: scaling.ReasonIdle},
	})
}

// followScript drives a running fleet through the phases, send appending the records, once
// settle has passed (the group formed, the aggregator's first term begun); then it stops the
// producer and the workers and checks the series they published.
func followScript(t *testing.T, addrs, emfs []string, stop func(), settle, period time.Duration, view sourceSeen,
	send func(ctx context.Context, n int), phases []scalingPhase) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var rate atomic.Int64
	sent := &tally{}
	var wg sync.WaitGroup
	wg.Go(func() { pace(ctx, &rate, sent, func(n int) { send(ctx, n) }) })
	log := &signalLog{}
	wg.Go(func() { log.poll(ctx, t, addrs) })
	time.Sleep(settle)
	// A partition that moves during a phase is read again from its checkpoint by its new
	// owner: start once a signal shows the partitions shared out evenly.
	for deadline := time.Now().Add(10 * period); !log.balanced(len(addrs), view.partitions); time.Sleep(period / 4) {
		if time.Now().After(deadline) {
			t.Logf("the partitions were not shared out evenly within %v; running the phases anyway", 10*period)
			break
		}
	}
	runPhases(t, phases, period, log, view, sent, func(r int) { rate.Store(int64(r)) })
	cancel()
	wg.Wait()
	stop()
	checkSignalSeries(t, emfs, log)
}

// spread returns a sender of n records to the topic "events", round robin over its parts
// partitions. Safe for concurrent use.
func spread(t *testing.T, cl *kgo.Client, parts int32) func(ctx context.Context, n int) {
	var mu sync.Mutex
	next := int32(0)
	return func(ctx context.Context, n int) {
		recs := make([]*kgo.Record, n)
		mu.Lock()
		for i := range recs {
			recs[i] = &kgo.Record{Topic: "events", Partition: next % parts, Value: []byte(`{"k":1}`)}
			next++
		}
		mu.Unlock()
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil && ctx.Err() == nil {
			t.Error(err)
		}
	}
}

// Kafka with a backlog: 8 partitions whose runners take 20 ms a record (400 records/s over
// the fleet, whatever its CPU), a task doing 1000 records/s flat out by its CPU clock, 200
// records/s arriving: one task would do. Then 8000 records land at once: 2 s later the arrival
// rate is 200 again, but 7000 and more records are behind, due within the 4 s catch-up window:
// 2000 records/s more, 2.3 tasks' worth, 3 or more aligned to 8 partitions: the fleet scales
// out on the backlog alone, which the aggregator knows only from the brokers' committed
// offsets (end − committed, less what open windows hold).
func TestFleetScalingKafkaBacklogScalesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute of scripted load")
	}
	const parts, arrival = 8, 200
	period := 2 * time.Second
	c, cl := newTopic(t, parts)
	dir := t.TempDir()
	var perRecord atomic.Int64
	perRecord.Store(int64(20 * time.Millisecond))
	t.Cleanup(func() { perRecord.Store(0) }) // the drain does not wait for the slow runners
	addrs, emfs, stop := scalingWorkers(t, 2, time.Millisecond, func(i int) Config {
		cfg := kafkaConfig(c, "backlog", dir)
		// Small batches: a runner counts a batch's records once it has folded them all, and
		// a batch of 1000 slow records would show no progress for 20 s.
		cfg.Source.Kafka.MaxPollRecords = 8
		cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(dir, fmt.Sprintf("metrics-%d.emf", i))
		cfg.Scaling.Period, cfg.Scaling.CatchUpWindow = period, 4*time.Second
		cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
		return cfg
	}, func(d *Deps) { d.Hooks.Operators = []pipeline.Operator{slowOp{perRecord: &perRecord}} })
	var rate atomic.Int64
	rate.Store(arrival)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	produce := spread(t, cl, parts)
	wg.Go(func() { pace(ctx, &rate, &tally{}, func(n int) { produce(ctx, n) }) })
	log := &signalLog{}
	wg.Go(func() { log.poll(ctx, t, addrs) })
	finish := sync.OnceFunc(func() { cancel(); wg.Wait(); perRecord.Store(0); stop() })
	defer finish()
	view := sourceSeen{parts, "end-offsets"}

	time.Sleep(3 * period) // both workers in the group, the aggregator's first term begun
	from := time.Now()
	time.Sleep(2*period + period/2)
	before, ok := log.last(from, time.Now(), period)
	if !ok {
		t.Fatal("no signal before the burst")
	}
	in, d := before.Inputs, before.Decision
	t.Logf("keeping up: arrival %.0f, backlog %.0f records, desired %d (%s)", in.ArrivalRate, in.LagSum, d.DesiredTasks, d.Reason)
	if d.DesiredTasks != 1 || in.LagSum > 400 {
		t.Errorf("keeping up at %d records/s: DesiredTasks %d (%s), backlog %.0f; want 1 and next to none", arrival, d.DesiredTasks, d.Reason, in.LagSum)
	}
	view.check(t, before)

	produce(ctx, 8000)
	from = time.Now().Truncate(period).Add(period) // the first period after the burst's
	time.Sleep(3*period + period/2)
	after, ok := log.last(from, from.Add(period), period)
	finish()
	if !ok {
		t.Fatal("no signal of the period after the burst")
	}
	in, d = after.Inputs, after.Decision
	t.Logf("behind: arrival %.0f, backlog %.0f records, current %d, desired %d (%s), backlog %.1fs per task",
		in.ArrivalRate, in.LagSum, in.CurrentTasks, d.DesiredTasks, d.Reason, d.BacklogSecondsPerTask)
	if d.DesiredTasks < 3 || d.Reason != scaling.ReasonScaleOut {
		t.Errorf("%.0f records behind: DesiredTasks %d (%s), want 3 or more, scale-out", in.LagSum, d.DesiredTasks, d.Reason)
	}
	if in.LagSum < 5000 || math.Abs(in.ArrivalRate-arrival) > 0.25*arrival {
		t.Errorf("the sizing saw %.0f records behind arriving at %.0f/s; want over 5000 at about %d/s", in.LagSum, in.ArrivalRate, arrival)
	}
	view.check(t, after)
	checkSignalSeries(t, emfs, log)
}

// capacity is one worker's processing capacity: a record every cost, whatever the machine
// and however many partitions the worker runs. A record waits for the next free slot. Slots
// missed by a sleep that overslept are taken up to capacitySlack late (without that, a loaded
// machine's late wake-ups lost a third of the capacity); older ones pass, so a worker idle
// for a while does not then go faster than its clock says.
const capacitySlack = 50 // slots

type capacity struct {
	cost time.Duration
	mu   sync.Mutex
	next time.Time
}

func (c *capacity) take() {
	c.mu.Lock()
	at := time.Now().Add(-capacitySlack * c.cost)
	if c.next.After(at) {
		at = c.next
	}
	c.next = at.Add(c.cost)
	c.mu.Unlock()
	time.Sleep(time.Until(at))
}

// capacityOp is an operator whose Observe takes a slot of its worker's capacity.
type capacityOp struct{ c *capacity }

func (capacityOp) Name() string { return "capacity" }
func (o capacityOp) NewState(pipeline.Partition) pipeline.State {
	return &capacityState{c: o.c}
}

type capacityState struct{ c *capacity }

func (s *capacityState) Observe(*pipeline.Record, []decode.Value) { s.c.take() }
func (s *capacityState) Merge(pipeline.State) error               { return nil }
func (s *capacityState) Emit(pipeline.Window, *pipeline.Output)   {}
func (s *capacityState) EncodeMsgpack(e *msgpack.Encoder) error   { return e.EncodeNil() }
func (s *capacityState) DecodeMsgpack(d *msgpack.Decoder) error   { return d.Skip() }

// slowOp is an operator whose Observe takes perRecord (nanoseconds): runners slower than
// the arrival rate, whatever the CPU clock says.
type slowOp struct{ perRecord *atomic.Int64 }

func (slowOp) Name() string { return "slow" }
func (o slowOp) NewState(pipeline.Partition) pipeline.State {
	return &slowState{perRecord: o.perRecord}
}

type slowState struct{ perRecord *atomic.Int64 }

func (s *slowState) Observe(*pipeline.Record, []decode.Value) {
	time.Sleep(time.Duration(s.perRecord.Load()))
}
func (s *slowState) Merge(pipeline.State) error             { return nil }
func (s *slowState) Emit(pipeline.Window, *pipeline.Output) {}
func (s *slowState) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeNil() }
func (s *slowState) DecodeMsgpack(d *msgpack.Decoder) error { return d.Skip() }

// Kinesis (moto: the stream, MillisBehindLatest, the lease table): two workers on 4 shards, a
// task doing 100 records/s flat out. 40 records/s need 0.57 tasks: 1; 240 need 3.4: 4 (one
// shard each; anything above 154 records/s leaves the ±10 % band around 2); nothing: the
// lower bound, zeros. The arrival rate comes from the records the
// readers got through and how far behind they are, as the aggregator has no end offsets.
func TestFleetScalingFollowsTheLoadOnKinesis(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted load")
	}
	period := 2 * time.Second
	s := newScalingStream(context.Background(), t)
	addrs, emfs, stop := scalingWorkers(t, 2, 10*time.Millisecond, func(i int) Config { return s.config(i, period) })
	// 3 periods: the leases taken and balanced, the aggregator's row held.
	followScript(t, addrs, emfs, stop, 3*period, period, sourceSeen{4, "millis-behind"},
		func(ctx context.Context, n int) { s.put(ctx, t, n) }, []scalingPhase{
			{rate: 40, desired: 1},
			{rate: 240, desired: 4, reason: scaling.ReasonScaleOut},
			{rate: 0, desired: 1, reason: scaling.ReasonIdle},
		})
}

// Kinesis far behind at a steady rate (the issue's "one hour behind at 5,000 records/s gives
// DesiredTasks=1", scaled to seconds): 40 records/s arrive for 24 s before any worker runs,
// and keep arriving; the readers take at most 3 records a call, about 60 records/s over the
// 4 shards, so they stay many seconds behind. A task could do 100 records/s, so the arrival
// rate alone needs one task; the backlog (40 records/s × ~20 s behind) due within the 3 s
// catch-up window needs several more: the fleet scales out to the 4 shards. Without the shards'
// MillisBehindLatest in the load reports the aggregator sees neither backlog nor arrival rate
// and answers 1.
func TestFleetScalingKinesisFarBehindScalesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute of backlog")
	}
	period := 2 * time.Second
	const arrival, ahead, shareOut = 40, 24 * time.Second, time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	s := newScalingStream(ctx, t)
	var rate atomic.Int64
	rate.Store(arrival)
	sent := &tally{}
	var wg sync.WaitGroup
	begun := time.Now()
	wg.Go(func() { pace(ctx, &rate, sent, func(n int) { s.put(ctx, t, n) }) })
	time.Sleep(ahead)
	started := time.Now()
	addrs, emfs, stop := scalingWorkers(t, 2, 10*time.Millisecond, func(i int) Config {
		cfg := s.config(i, period)
		cfg.Source.Kinesis.Start, cfg.Source.Kinesis.Limit = "trim_horizon", 3
		cfg.Scaling.CatchUpWindow = 3 * time.Second
		return cfg
	})
	log := &signalLog{}
	wg.Go(func() { log.poll(ctx, t, addrs) })
	// The measured periods begin once a signal shows the shards shared out two and two (the
	// leases taken and balanced, the aggregator's row held): waited for, not slept for. One
	// worker takes most shards first and hands one over, which waits for its windows to be
	// durable; until the new owner reads it, no report covers that shard, so the sizing counts
	// three shards' arrivals of four (30-35 records/s of 40). Under CPU load the handover ended
	// 6-21 s after the workers started, and a fixed settle of 6 s measured it.
	for deadline := time.Now().Add(shareOut); !log.balanced(2, 4); time.Sleep(period / 4) {
		if time.Now().After(deadline) {
			t.Fatalf("the shards were not shared out two and two within %v of the workers' start", shareOut)
		}
	}
	from := time.Now()
	t.Logf("shards shared out %v after the workers started", from.Sub(started).Round(100*time.Millisecond))
	time.Sleep(3*period + period/2)
	last2 := log.await(from, time.Now(), period, 2)
	cancel()
	wg.Wait()
	stop()
	if len(last2) < 2 {
		t.Fatalf("%d signals measured while the fleet was behind, want 2", len(last2))
	}
	in, d := last2[1].Inputs, last2[1].Decision
	measured := (last2[0].Inputs.ArrivalRate + in.ArrivalRate) / 2
	// Judged against what the producer got appended, not the scripted rate: under CPU load a
	// PutRecords on moto can take long enough that the pacer gives up part of the rate (31-34
	// records/s over two periods in two runs of three). Over the whole run, not those two
	// periods: the readers are far behind, so what they read then was appended 20-30 s before.
	actual := sent.rate(begun, last2[1].Time)
	t.Logf("behind %.1fs: arrival %.0f (%.0f over two periods, %.0f appended over the run), processed %.0f, backlog %.0f records, current %d, desired %d (%s), backlog %.1fs per task",
		in.LagSeconds, in.ArrivalRate, measured, actual, in.ProcessedRate, in.LagSum, in.CurrentTasks, d.DesiredTasks, d.Reason, d.BacklogSecondsPerTask)
	// 4 is the shard bound: a scale-out there says clamped-max.
	if d.DesiredTasks != 4 || (d.Reason != scaling.ReasonScaleOut && d.Reason != scaling.ReasonClampedMax) {
		t.Errorf("DesiredTasks %d (%s) while %.1fs behind, want 4: scale-out to the shard count", d.DesiredTasks, d.Reason, in.LagSeconds)
	}
	if in.LagSeconds < 5 || in.LagSum < 5*arrival || d.BacklogSecondsPerTask <= 0 {
		t.Errorf("the sizing saw %.1fs and %.0f records behind, %.1fs per task: want the backlog", in.LagSeconds, in.LagSum, d.BacklogSecondsPerTask)
	}
	// A single period's estimate ran 12 % low to 12 % high here once the shards were shared
	// out (35-45 in three runs under load; 30-35 while one was being handed over): each
	// shard's MillisBehindLatest is as old as its last GetRecords, and moto's is the age gap
	// between the newest record and the last one returned, so a two-second period sees it in
	// steps. (Without MillisBehindLatest the arrival is the processed rate, 50-60 here; the
	// desired count above is what tells that apart.)
	if math.Abs(measured-actual) > 0.3*actual {
		t.Errorf("the aggregator measured %.0f records/s arriving over two periods, %.0f were appended over the run (it processed %.0f)", measured, actual, in.ProcessedRate)
	}
	checkSignalSeries(t, emfs, log)
}

// scalingStream is a 4-shard Kinesis stream on its own moto server, and the directory its
// workers share (their partial store: partials and load reports).
type scalingStream struct {
	srv  *moto.Server
	kc   *awskinesis.Client
	dir  string
	next int
}

func newScalingStream(ctx context.Context, t *testing.T) *scalingStream {
	t.Helper()
	srv := moto.Start(t)
	_, awsCfg := srv.AWS(t)
	kc := awskinesis.NewFromConfig(awsCfg, func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(srv.Endpoint()) })
	if _, err := kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	return &scalingStream{srv: srv, kc: kc, dir: t.TempDir()}
}

// config is worker i's configuration: the stream, the lease table, the shared directory, period.
func (s *scalingStream) config(i int, period time.Duration) Config {
	cfg := testConfig(s.dir)
	cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(s.dir, fmt.Sprintf("metrics-%d.emf", i))
	cfg.AWS = awsconf.Config{Endpoint: s.srv.Endpoint(), LocalCredentials: true}
	cfg.Source.Kind = "kinesis"
	cfg.Source.Kinesis.Stream, cfg.Source.Kinesis.LeaseTable = "events", "weir-leases"
	cfg.Source.Kinesis.WorkerID = fmt.Sprint("worker-", i)
	cfg.Scaling.Period = period
	cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 0, 300*time.Millisecond
	return cfg
}

// put appends n records over distinct keys (so over every shard), at most 500 a call.
func (s *scalingStream) put(ctx context.Context, t *testing.T, n int) {
	for n > 0 {
		entries := make([]types.PutRecordsRequestEntry, min(n, 500))
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", s.next)), Data: []byte(`{"k":1}`)}
			s.next++
		}
		n -= len(entries)
		out, err := s.kc.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String("events"), Records: entries})
		if ctx.Err() == nil && (err != nil || aws.ToInt32(out.FailedRecordCount) != 0) {
			t.Errorf("PutRecords: %v (%v)", err, out)
		}
	}
}

// pace calls send with as many records as rate (per second, read at every tick) owes since
// the last call, every 100ms until ctx ends. A slow send is made up at the next tick, up to
// paceCatchUp of the rate: so the rate holds over a period on a loaded machine, and a send
// that stalled for a second does not land a second's records in the next period at once (a
// period that measured 3335 records/s of a scripted 2400 was sized at 8 tasks, and rightly).
const paceCatchUp = 250 * time.Millisecond

func pace(ctx context.Context, rate *atomic.Int64, sent *tally, send func(n int)) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, owed := time.Now(), 0.0
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			r := float64(rate.Load())
			owed = min(owed+r*now.Sub(last).Seconds(), r*paceCatchUp.Seconds())
			last = now
			if n := int(owed); n > 0 {
				owed -= float64(n)
				send(n)
				sent.add(n)
			}
		}
	}
}

// tally is when the records a pacer sent were appended (when the call returned).
type tally struct {
	mu sync.Mutex
	at []time.Time
	n  []int
}

func (t *tally) add(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.at, t.n = append(t.at, time.Now()), append(t.n, n)
}

// rate is the records per second appended within [from, to).
func (t *tally) rate(from, to time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := 0
	for i, at := range t.at {
		if !at.Before(from) && at.Before(to) {
			sum += t.n[i]
		}
	}
	return float64(sum) / to.Sub(from).Seconds()
}
