package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The scenarios (README.md has the long form):
//
//   - baseline: poll (bare franz-go poll-and-count), decode (poll + goccy/go-json decode +
//     per-tenant count, inline in the poll loop) and decode-parallel (the same decode and count,
//     partitions spread over GOMAXPROCS goroutines) on the standard data set.
//   - standard: weir's full pipeline draining the standard data set (JSON, 8 partitions,
//     Zipf tenants and users, 20 minutes of event time) with 60 s event-time windows on $.ts.
//   - msgpack: the same records as msgpack.
//   - stall: standard on a backlog 6x as long, the file sink blocked for -stall once it has run 5 s.
//   - latency: a live topic fed by an open-loop producer at -load × the live capacity (what
//     producer, broker and worker sustain together on this machine; see latency_scenario.go).
//   - live-messy: a live topic with quiet spells, records out of order, undecodable and late
//     (livemessy.go): counted against produced, exactly, by reason and window.
//   - keys: standard with 10^3 … 10^6 distinct (tenant, user) contributors; the largest level
//     runs in every repetition, with standard's record count.
//
// The baselines, standard, msgpack and the largest keys level run -reps times, interleaved, so
// a burst of load from elsewhere on the machine hits them alike; the report uses medians and
// the ratios within each repetition. Their order changes every repetition (rotation): a run's
// position in a repetition can favour it (the broker's heap and caches, what the previous run
// left behind), so no run may always have the same place or the same predecessor
// (bench/README.md has what a fixed order did to msgpack ÷ JSON).

// Topic names start with "events": the example rules read LogGroupNames events*.
const (
	topicJSON    = "events-json"
	topicMsgpack = "events-msgpack"
	topicLive    = "events-live"
	topicStall   = "events-stall"
)

// stallAfter is how long the stall scenario drains before the sink blocks: past the few seconds
// in which the worker's heap grows to its working size.
const stallAfter = 5 * time.Second

// eventSpan is the event time a backlog covers: 20 windows of 60 s.
const eventSpan = 20 * time.Minute

func orchestrate(ctx context.Context, self string, o options, progress io.Writer) (*report, error) {
	rep := newReport(o)
	b, err := startBroker(self, o.Profile)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	fmt.Fprintf(progress, "bench: broker at %v; scenarios %v\n", b.addrs, o.Scenarios)

	// The backlog's event time lies in the past, so no window waits for the wall clock.
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	std := dataset{Records: o.Records, Format: "json", Start: start, Span: eventSpan, Seed: 1}
	if err := load(ctx, b.addrs, topicJSON, std, progress); err != nil {
		return nil, err
	}
	if o.has("msgpack") {
		mp := std
		mp.Format = "msgpack"
		if err := load(ctx, b.addrs, topicMsgpack, mp, progress); err != nil {
			return nil, err
		}
	}
	var keysTop int
	if o.has("keys") {
		keysTop = slices.Max(o.Keys)
		ds := dataset{Records: o.Records, Format: "json", Start: start, Span: eventSpan, Distinct: keysTop, Seed: 2}
		if err := load(ctx, b.addrs, keysTopic(keysTop), ds, progress); err != nil {
			return nil, err
		}
	}
	base := spec{Brokers: b.addrs, Topic: topicJSON, Format: "json", Records: int64(o.Records),
		Rules: o.Rules, BudgetBytes: o.BudgetBytes, MemoryLimit: o.MemoryLimit, Window: o.Window, TimeField: "$.ts",
		StoreLatency: o.StoreLatency, Profile: o.Profile, Trace: o.Trace}
	repIdx := 0
	runOne := func(sp spec, onReady func() error) (*result, error) {
		fmt.Fprintf(progress, "bench: === %s (%s, %s, %d records)\n", sp.Name, sp.Kind, sp.Topic, sp.Records)
		sp.Rep = repIdx
		bin := self
		if sp.before {
			bin = o.Before
		}
		wrap := strings.Fields(strings.ReplaceAll(o.Wrap, "{run}", fmt.Sprintf("%s.%d", sp.Name, sp.Rep)))
		r, err := runChildProc(ctx, bin, wrap, sp, onReady)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "bench: === %s: %.0f records/s, %.0f records/CPU-s, peak RSS %d MiB\n",
			sp.Name, r.RecordsPerSec, r.RecordsPerCPUSec, r.PeakRSSBytes>>20)
		r.Rep = repIdx
		rep.Runs = append(rep.Runs, *r)
		return r, nil
	}

	repeated := []spec{}
	for _, kind := range []string{kindPoll, kindDecode, kindParallel} {
		sp := base
		sp.Name, sp.Kind = "baseline-"+kind, kind
		repeated = append(repeated, sp)
	}
	if o.has("standard") {
		sp := base
		sp.Name, sp.Kind = "standard", kindPipeline
		repeated = append(repeated, sp)
	}
	if o.has("msgpack") {
		sp := base
		sp.Name, sp.Kind, sp.Topic, sp.Format = "msgpack", kindPipeline, topicMsgpack, "msgpack"
		repeated = append(repeated, sp)
	}
	if keysTop > 0 {
		// The largest level is the target's (10^6 contributors against standard), so it is
		// measured like standard: the same number of records, in every repetition.
		sp := base
		sp.Name, sp.Kind, sp.Topic = keysName(keysTop), kindPipeline, keysTopic(keysTop)
		repeated = append(repeated, sp)
	}
	if o.Before != "" {
		// The same weir runs by the bench binary of an earlier build, in the same rotation:
		// before and after measured on the same data, the same broker, in the same minutes.
		for _, sp := range slices.Clone(repeated) {
			if sp.Kind == kindPipeline {
				sp.Name, sp.before = sp.Name+beforeSuffix, true
				repeated = append(repeated, sp)
			}
		}
	}
	for i := range o.Reps {
		repIdx = i
		order := rotation(len(repeated), i)
		names := make([]string, len(order))
		for k, j := range order {
			names[k] = repeated[j].Name
		}
		fmt.Fprintf(progress, "bench: repetition %d of %d: %s\n", i+1, o.Reps, strings.Join(names, ", "))
		for _, j := range order {
			r, err := runOne(repeated[j], nil)
			if err != nil {
				return nil, err
			}
			if strings.TrimSuffix(repeated[j].Name, beforeSuffix) == keysName(keysTop) {
				r.Distinct = int64(min(keysTop, o.Records))
				rep.Runs[len(rep.Runs)-1] = *r
			}
		}
	}
	if keysTop > 0 {
		if err := deleteTopic(ctx, b.addrs, keysTopic(keysTop)); err != nil {
			return nil, err
		}
	}

	if o.has("stall") {
		// The stall gets a backlog six times the standard one, of the same density (records
		// per window), and the sink blocks once the drain has run for stallAfter: the worker's
		// RSS grows for the first few seconds of a drain (a plain 8 M-record drain: ~80 MiB at
		// 2 s, 97–102 MiB from 3.5–5 s on), so a stall that began 2 s in (as it did, half way
		// through a backlog three times the standard one) counted that growth as the stall's.
		// At ~1.5 M records/s, six times the standard backlog leaves ~3 s to recover on; on a
		// slower machine the stall begins at two thirds of the backlog at the latest.
		ds := dataset{Records: 6 * o.Records, Format: "json", Start: start.Add(-5 * eventSpan),
			Span: 6 * eventSpan, Seed: 3}
		if err := load(ctx, b.addrs, topicStall, ds, progress); err != nil {
			return nil, err
		}
		sp := base
		sp.Name, sp.Kind, sp.Topic, sp.Records = "stall", kindPipeline, topicStall, int64(ds.Records)
		sp.StallAfter, sp.StallAt, sp.StallFor = stallAfter, int64(ds.Records)*2/3, o.Stall
		if _, err := runOne(sp, nil); err != nil {
			return nil, err
		}
		if err := deleteTopic(ctx, b.addrs, topicStall); err != nil {
			return nil, err
		}
	}

	if o.has("latency") {
		if err := latencyScenario(ctx, o, rep, base, b.addrs, runOne, progress); err != nil {
			return nil, err
		}
	}

	if o.has("live-messy") {
		if err := liveMessyScenario(ctx, o, rep, base, b.addrs, runOne, progress); err != nil {
			return nil, err
		}
	}

	if o.has("keys") {
		// The smaller levels run once each, with -keys-records records: how throughput and
		// memory move as the contributors grow.
		for _, k := range o.Keys {
			if k == keysTop {
				continue
			}
			topic := keysTopic(k)
			ds := dataset{Records: o.KeysRecords, Format: "json", Start: start, Span: eventSpan, Distinct: k, Seed: 2}
			if err := load(ctx, b.addrs, topic, ds, progress); err != nil {
				return nil, err
			}
			sp := base
			sp.Name, sp.Kind, sp.Topic, sp.Records = keysName(k), kindPipeline, topic, int64(o.KeysRecords)
			r, err := runOne(sp, nil)
			if err != nil {
				return nil, err
			}
			r.Distinct = int64(min(k, o.KeysRecords))
			rep.Runs[len(rep.Runs)-1] = *r
			if err := deleteTopic(ctx, b.addrs, topic); err != nil {
				return nil, err
			}
		}
	}
	rep.finish()
	return rep, nil
}

// beforeSuffix names the runs of the -before binary: standard@before, …
const beforeSuffix = "@before"

func keysName(k int) string  { return fmt.Sprintf("keys-%d", k) }
func keysTopic(k int) string { return fmt.Sprintf("events-keys-%d", k) }

// rotation returns the order of n repeated runs in repetition rep: a Williams design, the
// rows of a Latin square in which every run also follows every other exactly once. Row 0 is
// 0, 1, n-1, 2, n-2, …; row r adds r to each (mod n). For odd n, rows n to 2n-1 are the first
// n reversed, which balances the predecessors. So over n repetitions (2n for odd n) every run
// takes every position equally often and follows every other run equally often; with n = 2
// it is the alternation the pipeline pair always had.
func rotation(n, rep int) []int {
	if n == 0 {
		return nil
	}
	row := make([]int, n)
	for j := range row {
		// j-th entry of row 0: 0, 1, n-1, 2, n-2, …
		v := (j + 1) / 2
		if j%2 == 0 && j > 0 {
			v = n - j/2
		}
		row[j] = (v + rep) % n
	}
	if n%2 == 1 && rep/n%2 == 1 {
		slices.Reverse(row)
	}
	return row
}

// load creates topic and produces ds into it.
func load(ctx context.Context, addrs []string, topic string, ds dataset, progress io.Writer) error {
	if err := createTopic(ctx, addrs, topic); err != nil {
		return err
	}
	if _, err := produceBacklog(ctx, addrs, topic, ds, progress); err != nil {
		return err
	}
	// Let the broker settle (its garbage collector runs after a bulk load), so the next
	// scenario does not pay for it.
	return sleep(ctx, 2*time.Second)
}
