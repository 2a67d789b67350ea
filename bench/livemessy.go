package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/throughput"
)

// The live-messy scenario is a live topic the way real ones are: bursts stamped with the
// producer's wall clock, quiet spells longer than the worker's idle timeout between them (a
// night, a lull), some records out of order within the allowed lateness, some undecodable, and
// some truly late. Every record's fate is decided by the producer, so the worker's counts can
// be checked exactly: each on-time record in the window its stamp says, each undecodable one a
// "decode" dead letter, each truly late one a "late" one. Before event time followed each
// partition's own records, the burst after a quiet spell was dead-lettered whole as late.

// fate is what the producer made of a record.
type fate int

const (
	inOrder fate = iota
	outOfOrder
	undecodable
	late
)

// messyPlan is the traffic of a live-messy run.
type messyPlan struct {
	Bursts   int           `json:"bursts"`
	PerBurst int           `json:"per_burst"` // records per burst, produced as fast as the producer goes
	Quiet    time.Duration `json:"quiet"`     // between bursts: longer than the idle timeout
	Window   time.Duration `json:"window"`
	Lateness time.Duration `json:"lateness"`
	// Shares of the records: out of order by up to OutOfOrderBy (inside the lateness), not
	// decodable, and late (stamped a window and a lateness behind the partition's newest).
	OutOfOrder   float64       `json:"out_of_order"`
	OutOfOrderBy time.Duration `json:"out_of_order_by"`
	Undecodable  float64       `json:"undecodable"`
	Late         float64       `json:"late"`
	Seed         uint64        `json:"seed"`
}

func (p messyPlan) records() int { return p.Bursts * p.PerBurst }

// messyTally counts records by fate: what the producer sent, or what the worker's outputs
// counted.
type messyTally struct {
	InOrder     int64 `json:"in_order"`
	OutOfOrder  int64 `json:"out_of_order"`
	Undecodable int64 `json:"undecodable"`
	Late        int64 `json:"late"`
	// Windows is the records each window must count (in order and out of order together), by
	// window start (RFC 3339).
	Windows map[string]int64 `json:"windows"`
}

// messyResult is a live-messy run's account: produced against counted, and every difference.
// The child fills Counted (and Mismatches it can see alone); the orchestrator the rest.
type messyResult struct {
	Plan     messyPlan  `json:"plan"`
	Produced messyTally `json:"produced"`
	Counted  messyTally `json:"counted"`
	// Mismatches lists every count that differs, empty when all agree.
	Mismatches []string `json:"mismatches"`
	// BusySeconds is the time the worker spent with records to process (samples where its
	// count moved), for a rate within the bursts.
	BusySeconds float64 `json:"busy_seconds"`
}

// compare adds to Mismatches every count that differs. The counted tally comes from the worker's summary reports: on-time
// records are what the windows counted (late ones placed by oldest-open would be among them,
// but the bench dead-letters them), Undecodable and Late are dead letters by reason.
func (m *messyResult) compare() {
	p, c := m.Produced, m.Counted
	check := func(what string, want, got int64) {
		if want != got {
			m.Mismatches = append(m.Mismatches, fmt.Sprintf("%s: produced %d, counted %d", what, want, got))
		}
	}
	check("on time (in order + out of order)", p.InOrder+p.OutOfOrder, c.InOrder+c.OutOfOrder)
	check("undecodable (dead letters, decode)", p.Undecodable, c.Undecodable)
	check("late (dead letters, late)", p.Late, c.Late)
	var ws []string
	for w := range p.Windows {
		ws = append(ws, w)
	}
	for w := range c.Windows {
		if _, ok := p.Windows[w]; !ok {
			ws = append(ws, w)
		}
	}
	slices.Sort(ws)
	for _, w := range ws {
		check("window "+w, p.Windows[w], c.Windows[w])
	}
}

// messyPlanFor is the scenario's traffic: four bursts of a quarter of -records each, 4 s of
// quiet between them (the worker's idle timeout is 2 s), 10 s windows with the default 5 s
// lateness, 5% of the records out of order by up to 3 s, 1% undecodable, 0.5% late.
func messyPlanFor(o options) messyPlan {
	return messyPlan{Bursts: 4, PerBurst: o.Records / 4, Quiet: 4 * time.Second, Window: 10 * time.Second,
		Lateness: pipeline.DefaultWindowConfig().AllowedLateness, OutOfOrder: 0.05, OutOfOrderBy: 3 * time.Second,
		Undecodable: 0.01, Late: 0.005, Seed: 5}
}

// messyIdleTimeout is the worker's window.idle_timeout in the scenario: shorter than the
// quiet spells, so every spell makes every partition quiet.
const messyIdleTimeout = 2 * time.Second

// liveMessyScenario runs the worker on a fresh live topic while produceMessy feeds it, and
// checks what it counted against what was produced. It runs live-clean first: the same bursts
// and spells with nothing out of order, undecodable or late, so that what the mess costs is
// told apart from what a live topic's traffic costs against a backlog drain (smaller fetches,
// and a burst's records all in one or two windows, where the contributor sketches work
// harder than on the standard backlog's 20 minutes of event time).
func liveMessyScenario(ctx context.Context, o options, rep *report, base spec, addrs []string,
	runOne func(spec, func() error) (*result, error), progress io.Writer) error {
	plan := messyPlanFor(o)
	clean := plan
	clean.OutOfOrder, clean.Undecodable, clean.Late = 0, 0, 0
	if err := liveMessyRun(ctx, "live-clean", clean, rep, base, addrs, runOne, progress); err != nil {
		return err
	}
	return liveMessyRun(ctx, "live-messy", plan, rep, base, addrs, runOne, progress)
}

func liveMessyRun(ctx context.Context, name string, plan messyPlan, rep *report, base spec, addrs []string,
	runOne func(spec, func() error) (*result, error), progress io.Writer) error {
	topic := topicLive + "-" + name
	if err := createTopic(ctx, addrs, topic); err != nil {
		return err
	}
	defer func() { _ = deleteTopic(ctx, addrs, topic) }()
	sp := messySpec(base, topic, plan)
	sp.Name = name
	var produced messyTally
	r, err := runOne(sp, func() error {
		var err error
		produced, err = produceMessy(ctx, addrs, topic, plan, progress)
		return err
	})
	if err != nil {
		return err
	}
	if r.Messy == nil {
		return fmt.Errorf("%s: the child reported no counts", sp.Name)
	}
	r.Messy.Plan, r.Messy.Produced = plan, produced
	r.Messy.compare()
	rep.Runs[len(rep.Runs)-1] = *r
	for _, m := range r.Messy.Mismatches {
		fmt.Fprintf(progress, "bench: %s: MISMATCH %s\n", name, m)
	}
	return nil
}

// messySpec is the worker of a live-messy run on topic.
func messySpec(base spec, topic string, plan messyPlan) spec {
	sp := base
	sp.Name, sp.Kind, sp.Topic, sp.Records = "live-messy", kindPipeline, topic, int64(plan.records())
	sp.Window, sp.TimeField, sp.Lateness, sp.IdleTimeout = plan.Window, "$.ts", plan.Lateness, messyIdleTimeout
	sp.Live, sp.Messy, sp.SampleEvery = true, true, 0
	sp.Group = freshGroup(sp.Name)
	return sp
}

// produceMessy produces plan into topic: bursts of records sent as fast as the producer goes,
// each stamped with its wall clock (to the millisecond, as the event's $.ts carries it), with
// plan.Quiet of silence between them. Records go to partition i mod 8 in order, so the
// producer knows each partition's newest stamp: a late record is stamped a window and the
// allowed lateness behind it, which the partition's watermark has passed for certain; an
// out-of-order one at most OutOfOrderBy behind the clock, which it cannot have passed unless
// delivery took longer than the lateness minus that.
func produceMessy(ctx context.Context, addrs []string, topic string, plan messyPlan, progress io.Writer) (messyTally, error) {
	tally := messyTally{Windows: map[string]int64{}}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(200_000))
	if err != nil {
		return tally, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return tally, fmt.Errorf("producer: %w", err)
	}
	var acks produceAcks
	g := newEventGen(dataset{Records: plan.records(), Format: "json", Seed: plan.Seed})
	rng := rand.New(rand.NewPCG(plan.Seed, 0x5eed))
	var newest [partitions]time.Time
	i := 0
	for burst := range plan.Bursts {
		if burst > 0 {
			fmt.Fprintf(progress, "bench: live-messy: quiet for %v\n", plan.Quiet)
			if err := sleep(ctx, plan.Quiet); err != nil {
				return tally, err
			}
		}
		began := time.Now()
		for range plan.PerBurst {
			p := i % partitions
			i++
			e := g.next()
			now := time.Now().Truncate(time.Millisecond)
			e.TS = now
			f := inOrder
			switch x := rng.Float64(); {
			case x < plan.Undecodable:
				f = undecodable
			case x < plan.Undecodable+plan.Late:
				if !newest[p].IsZero() { // (the partition's first record cannot be late)
					f = late
				}
			case x < plan.Undecodable+plan.Late+plan.OutOfOrder:
				f = outOfOrder
			}
			switch f {
			case late:
				e.TS = newest[p].Add(-plan.Lateness - plan.Window - time.Millisecond)
			case outOfOrder:
				e.TS = now.Add(-time.Duration(rng.Int64N(int64(plan.OutOfOrderBy)))).Truncate(time.Millisecond)
			}
			v := e.AppendJSON(make([]byte, 0, 224))
			switch f {
			case undecodable:
				v[5] = ' ' // {"ts" "…: the first member has no colon
				tally.Undecodable++
			case late:
				tally.Late++
			default:
				if f == inOrder {
					tally.InOrder++
				} else {
					tally.OutOfOrder++
				}
				tally.Windows[e.TS.Truncate(plan.Window).UTC().Format(time.RFC3339)]++
				if e.TS.After(newest[p]) {
					newest[p] = e.TS
				}
			}
			acks.produce(ctx, cl, &kgo.Record{Partition: int32(p), Key: e.UserKey(), Value: v})
		}
		if err := cl.Flush(ctx); err != nil {
			return tally, err
		}
		fmt.Fprintf(progress, "bench: live-messy: burst %d of %d: %d records in %v\n", burst+1, plan.Bursts,
			plan.PerBurst, time.Since(began).Round(time.Millisecond))
	}
	return tally, acks.wait(topic)
}

// countMessy reads what the fleet's aggregator's throughput summaries (the file sink's objects in
// dir) counted: records per window, dead letters by reason. Dead letters with a reason the
// producer never causes are mismatches of their own.
func countMessy(dir string) (messyTally, []string, error) {
	c := messyTally{Windows: map[string]int64{}}
	var odd []string
	err := filepath.WalkDir(filepath.Join(dir, "kind=summary", "operator="+throughput.Name), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var rep throughput.Report
			if err := json.Unmarshal(line, &rep); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if rep.Records > 0 {
				c.Windows[rep.Start.UTC().Format(time.RFC3339)] += rep.Records
			}
			c.InOrder += rep.Records
			c.Undecodable += rep.DeadLetters.Decode
			c.Late += rep.DeadLetters.Late
			if rep.DeadLetters.EventTime > 0 {
				odd = append(odd, fmt.Sprintf("window %s: %d dead letters for an unreadable event time", rep.Start.Format(time.RFC3339), rep.DeadLetters.EventTime))
			}
		}
		return nil
	})
	return c, odd, err
}

// busySeconds adds up the sampling intervals in which the worker's count moved.
func busySeconds(series []sample) float64 {
	var s float64
	for i := 1; i < len(series); i++ {
		if series[i].Records > series[i-1].Records {
			s += series[i].T - series[i-1].T
		}
	}
	return s
}
