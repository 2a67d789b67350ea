package worker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
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
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.signals) - 1; i >= 0; i-- {
		s := l.signals[i]
		if start := s.Time.Add(-period); !start.Before(from) && !s.Time.After(to) {
			return s, true
		}
	}
	return scaling.Signal{}, false
}

// runPhases drives produce through the phases, each long enough for two whole periods after
// the first one that straddles the change, and checks the last signal of each.
func runPhases(t *testing.T, phases []scalingPhase, period time.Duration, log *signalLog, produce func(rate int)) {
	t.Helper()
	for _, ph := range phases {
		from := time.Now()
		produce(ph.rate)
		time.Sleep(4*period + period/2)
		s, ok := log.last(from, time.Now(), period)
		if !ok {
			t.Errorf("%d records/s: no signal measured within the phase", ph.rate)
			continue
		}
		in, d := s.Inputs, s.Decision
		t.Logf("%d records/s: arrival %.0f, processed %.0f, current %d, true rate %.0f, desired %d (%s), backlog %.1fs",
			ph.rate, in.ArrivalRate, in.ProcessedRate, in.CurrentTasks, d.TrueRatePerTask, d.DesiredTasks, d.Reason, d.BacklogSecondsPerTask)
		if d.DesiredTasks != ph.desired || (ph.reason != "" && d.Reason != ph.reason) {
			t.Errorf("%d records/s: DesiredTasks %d (%s), want %d %s", ph.rate, d.DesiredTasks, d.Reason, ph.desired, ph.reason)
		}
		if math.Abs(in.ArrivalRate-float64(ph.rate)) > 0.25*float64(ph.rate)+1 {
			t.Errorf("%d records/s: the aggregator measured %.0f records/s arriving", ph.rate, in.ArrivalRate)
		}
		if ph.rate == 0 && (d.BacklogSecondsPerTask != 0 || in.LagSum != 0) {
			t.Errorf("idle: backlog %v s, %v records; want zeros", d.BacklogSecondsPerTask, in.LagSum)
		}
		if s.Fleet == nil || s.Fleet.Reports != 2 || in.CurrentTasks != 2 {
			t.Errorf("%d records/s: %+v reports, %d current tasks; want both workers'", ph.rate, s.Fleet, in.CurrentTasks)
		}
	}
}

// scalingWorkers runs n workers of cfg, each with its own CPU clock of cost per record and one
// vCPU, an HTTP port and an EMF file; it returns their addresses and EMF files.
func scalingWorkers(t *testing.T, n int, cost time.Duration, cfgFor func(i int) Config) (addrs, emfs []string, stop func()) {
	t.Helper()
	var stops []func() error
	for i := range n {
		cfg := cfgFor(i)
		cfg.HTTP.Addr = "127.0.0.1:0"
		cfg.ServiceName = "weir-test"
		deps := testDeps()
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
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		health := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
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

// Kafka: two workers on 8 partitions, a task doing 1000 records/s flat out. 600 records/s
// need 0.86 tasks: 1; 2400 need 3.4: 4 (2 partitions each); nothing: the lower bound, zeros.
func TestFleetScalingFollowsTheLoadOnKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted load")
	}
	const parts = 8
	period := 2 * time.Second
	c, cl := newTopic(t, parts)
	dir := t.TempDir()
	addrs, emfs, stop := scalingWorkers(t, 2, time.Millisecond, func(i int) Config {
		cfg := kafkaConfig(c, "scaling", dir)
		cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(dir, fmt.Sprintf("metrics-%d.emf", i))
		cfg.Scaling.Period = period
		cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
		return cfg
	})
	var rate atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { // rate records a second, in tenths, spread over the partitions
		next := int32(0)
		for tick := time.NewTicker(100 * time.Millisecond); ctx.Err() == nil; <-tick.C {
			var recs []*kgo.Record
			for range rate.Load() / 10 {
				recs = append(recs, &kgo.Record{Topic: "events", Partition: next % parts, Value: []byte(`{"k":1}`)})
				next++
			}
			if len(recs) > 0 {
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
			}
		}
	})
	log := &signalLog{}
	wg.Go(func() { log.poll(ctx, t, addrs) })
	time.Sleep(2 * period) // both workers in the group, the aggregator's first term begun
	runPhases(t, []scalingPhase{
		{rate: 600, desired: 1},
		{rate: 2400, desired: 4, reason: scaling.ReasonScaleOut},
		{rate: 0, desired: 1, reason: scaling.ReasonIdle},
	}, period, log, func(r int) { rate.Store(int64(r)) })
	cancel()
	wg.Wait()
	stop()
	checkSignalSeries(t, emfs, log)
}

// Kinesis (moto: the stream, MillisBehindLatest, the lease table): two workers on 4 shards, a
// task doing 100 records/s flat out. 40 records/s need 0.57 tasks: 1; 180 need 2.6: 4 (one
// shard each); nothing: the lower bound, zeros. The arrival rate comes from the records the
// readers got through and how far behind they are, as the aggregator has no end offsets.
func TestFleetScalingFollowsTheLoadOnKinesis(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of scripted load")
	}
	period := 2 * time.Second
	srv := moto.Start(t)
	_, awsCfg := srv.AWS(t)
	kc := awskinesis.NewFromConfig(awsCfg, func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(srv.Endpoint()) })
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addrs, emfs, stop := scalingWorkers(t, 2, 10*time.Millisecond, func(i int) Config {
		cfg := testConfig(dir)
		cfg.Sinks.CloudWatch.EMF.Path = filepath.Join(dir, fmt.Sprintf("metrics-%d.emf", i))
		cfg.AWS = awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true}
		cfg.Source.Kind = "kinesis"
		cfg.Source.Kinesis.Stream, cfg.Source.Kinesis.LeaseTable = "events", "weir-leases"
		cfg.Source.Kinesis.WorkerID = fmt.Sprint("worker-", i)
		cfg.Scaling.Period = period
		cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = 0, 300*time.Millisecond
		return cfg
	})
	var rate atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { // rate records a second, in tenths, over random keys
		i := 0
		for tick := time.NewTicker(100 * time.Millisecond); ctx.Err() == nil; <-tick.C {
			var entries []types.PutRecordsRequestEntry
			for range rate.Load() / 10 {
				entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint("k", i)), Data: []byte(`{"k":1}`)})
				i++
			}
			if len(entries) == 0 {
				continue
			}
			out, err := kc.PutRecords(ctx, &awskinesis.PutRecordsInput{StreamName: aws.String("events"), Records: entries})
			if ctx.Err() == nil && (err != nil || aws.ToInt32(out.FailedRecordCount) != 0) {
				t.Errorf("PutRecords: %v (%v)", err, out)
			}
		}
	})
	log := &signalLog{}
	wg.Go(func() { log.poll(ctx, t, addrs) })
	time.Sleep(3 * period) // the leases taken and balanced, the aggregator's row held
	runPhases(t, []scalingPhase{
		{rate: 40, desired: 1},
		{rate: 180, desired: 4, reason: scaling.ReasonScaleOut},
		{rate: 0, desired: 1, reason: scaling.ReasonIdle},
	}, period, log, func(r int) { rate.Store(int64(r)) })
	cancel()
	wg.Wait()
	stop()
	checkSignalSeries(t, emfs, log)
}
