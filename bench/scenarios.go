package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// The scenarios (README.md has the long form):
//
//   - baseline: poll (bare franz-go poll-and-count) and decode (poll + goccy/go-json decode +
//     per-tenant count) on the standard data set.
//   - standard: weir's full pipeline draining the standard data set (JSON, 8 partitions,
//     Zipf tenants and users, 20 minutes of event time) with 60 s event-time windows on $.ts.
//   - msgpack: the same records as msgpack.
//   - stall: standard on a backlog 3x as long, the file sink blocked for -stall half way through.
//   - latency: a live topic fed by an open-loop producer at -load × the live capacity (what
//     producer, broker and worker sustain together on this machine; see latency_scenario.go).
//   - live-messy: a live topic with quiet spells, records out of order, undecodable and late
//     (livemessy.go): counted against produced, exactly, by reason and window.
//   - keys: standard with 10^3 … 10^6 distinct (tenant, user) contributors.
//
// baseline, standard and msgpack run -reps times, interleaved (poll, decode, standard,
// msgpack, poll, decode, msgpack, standard, …), so a burst of load from elsewhere on the machine
// hits them alike; the report uses medians and the ratios within each repetition.
//
// pipelineOrder: standard and msgpack swap places every repetition. Their rates differ by a few
// percent, well inside the spread between repetitions, so whatever favours the second run of a
// pair (the broker's heap, caches) must not always favour the same one: in 8 + 8 interleaved
// pairs the msgpack ÷ JSON ratio averaged 1.06 with msgpack second and 1.00 with it first.

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
	base := spec{Brokers: b.addrs, Topic: topicJSON, Format: "json", Records: int64(o.Records),
		Rules: o.Rules, BudgetBytes: o.BudgetBytes, Window: time.Minute, TimeField: "$.ts",
		Profile: o.Profile, Trace: o.Trace}
	repIdx := 0
	runOne := func(sp spec, onReady func() error) (*result, error) {
		fmt.Fprintf(progress, "bench: === %s (%s, %s, %d records)\n", sp.Name, sp.Kind, sp.Topic, sp.Records)
		r, err := runChildProc(ctx, self, sp, onReady)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "bench: === %s: %.0f records/s, %.0f records/CPU-s, peak RSS %d MiB\n",
			sp.Name, r.RecordsPerSec, r.RecordsPerCPUSec, r.PeakRSSBytes>>20)
		r.Rep = repIdx
		rep.Runs = append(rep.Runs, *r)
		return r, nil
	}

	for i := range o.Reps {
		repIdx = i
		fmt.Fprintf(progress, "bench: repetition %d of %d\n", i+1, o.Reps)
		for _, kind := range []string{kindPoll, kindDecode} {
			sp := base
			sp.Name, sp.Kind = "baseline-"+kind, kind
			if _, err := runOne(sp, nil); err != nil {
				return nil, err
			}
		}
		var pipelines []spec
		if o.has("standard") {
			sp := base
			sp.Name, sp.Kind = "standard", kindPipeline
			pipelines = append(pipelines, sp)
		}
		if o.has("msgpack") {
			sp := base
			sp.Name, sp.Kind, sp.Topic, sp.Format = "msgpack", kindPipeline, topicMsgpack, "msgpack"
			pipelines = append(pipelines, sp)
		}
		if i%2 == 1 {
			slices.Reverse(pipelines) // see pipelineOrder
		}
		for _, sp := range pipelines {
			if _, err := runOne(sp, nil); err != nil {
				return nil, err
			}
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
		for _, k := range o.Keys {
			topic := fmt.Sprintf("events-keys-%d", k)
			ds := dataset{Records: o.KeysRecords, Format: "json", Start: start, Span: eventSpan, Distinct: k, Seed: 2}
			if err := load(ctx, b.addrs, topic, ds, progress); err != nil {
				return nil, err
			}
			sp := base
			sp.Name, sp.Kind, sp.Topic, sp.Records = fmt.Sprintf("keys-%d", k), kindPipeline, topic, int64(o.KeysRecords)
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
