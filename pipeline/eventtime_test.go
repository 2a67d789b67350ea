package pipeline_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// Quiet spells of 15 s, 70 s, 10 min and 24 h between bursts stamped with the clock: every
// record is counted in its window and none is late, and each burst's windows close during the
// spell after it (on the wall clock, every partition quiet), not only at shutdown. Before the
// event-time rules, a quiet partition took the worker's highest watermark plus the idle time
// on every tick: the burst after a 70 s spell was dead-lettered whole.
func TestEventTimeQuietSpellsNothingLate(t *testing.T) {
	s, _ := liveStream(t, 4, nil)
	for _, spell := range []time.Duration{15 * time.Second, 70 * time.Second, 10 * time.Minute, 24 * time.Hour} {
		s.burst(noSkew)
		s.pass(spell)
		pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent })
	}
	s.burst(noSkew)
	s.finish()
}

// Producers skewed by ±(lateness − 1 s), two producers differing by that much writing into one
// partition, and records out of order by up to lateness − 1 s: none is late, with or without
// quiet spells between.
func TestEventTimeSkewAndDisorderWithinLatenessNothingLate(t *testing.T) {
	s, cfg := liveStream(t, 4, nil)
	most := cfg.AllowedLateness - time.Second
	rng := rand.New(rand.NewPCG(1, 2))
	skew := func(p, i int) time.Duration {
		switch p {
		case 0:
			return most // a producer ahead
		case 1:
			return -most // a producer behind
		case 2:
			if i%2 == 1 {
				return -most // two producers, lateness − 1 s apart, in one partition
			}
			return 0
		default:
			return -time.Duration(rng.Int64N(int64(most))) // out of order
		}
	}
	for _, spell := range []time.Duration{0, 3 * time.Second, 30 * time.Second, 0, 2 * time.Hour, 0} {
		for range 5 {
			s.burst(skew)
		}
		s.pass(spell)
		if spell > cfg.IdleTimeout+cfg.AllowedLateness+cfg.Period {
			// Every partition quiet long enough: their windows close on the wall clock.
			pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent })
		}
	}
	s.finish()
}

// A burst stamped 10 minutes in the past after a quiet spell is late: dead-lettered with
// reason "late" (or, with oldest-open, counted in the window that holds the partition's
// watermark), counted in the metrics and in the summary report, and the share is logged.
func TestEventTimeBurstFromThePastIsLate(t *testing.T) {
	for _, policy := range []pipeline.LatePolicy{pipeline.LateDeadLetter, pipeline.LateOldestOpen} {
		t.Run(string(policy), func(t *testing.T) {
			logs := &logLines{}
			s, _ := liveStream(t, 2, func(c *pipeline.WindowConfig) { c.Late = policy }, withLog(logs))
			h, store, clock := s.h, s.h.store, s.clock
			s.burst(noSkew)
			s.pass(70 * time.Second)
			pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent })
			now := clock.advance(time.Second)
			var past []time.Time
			for i := range 50 {
				past = append(past, now.Add(-10*time.Minute+time.Duration(i)*time.Millisecond))
			}
			s.send(s.part(0), true, past...)
			// Both partitions carry on: with no window open when the late ones came, partition
			// 0's window holding its watermark counts them (dead letters; oldest-open placed
			// them there).
			s.send(s.part(0), false, now)
			s.send(s.part(1), false, now)
			s.settle()
			var late, placed, deadLate int64
			pipelinetest.WaitFor(t, func() bool {
				clock.advance(time.Second)
				late, placed, deadLate = 0, 0, 0
				for _, pt := range store.Partials(t) {
					c := pipelinetest.Throughput(t, pt)
					late += c.Late
					deadLate += c.DeadLetters.Late
					if c.Partition == "0" && c.Late > 0 {
						placed += c.Records
					}
				}
				return s.counted() >= s.sent && late == 50
			})
			if err := h.rt.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := metrictest.Sum(t, h.reg, "weir_late_records_total", nil); n != 50 {
				t.Errorf("weir_late_records_total = %v, want 50", n)
			}
			letters := store.DeadLetters()
			switch policy {
			case pipeline.LateDeadLetter:
				s.check()
				if len(letters) != 50 || letters[0].Reason != "late" {
					t.Errorf("%d dead letters (first %+v), want 50 with reason late", len(letters), letters)
				}
				if deadLate != 50 || metrictest.Sum(t, h.reg, "weir_dead_letters_total", nil) != 50 {
					t.Errorf("dead letters counted as late: partials %d, metric %v; want 50", deadLate,
						metrictest.Sum(t, h.reg, "weir_dead_letters_total", nil))
				}
			case pipeline.LateOldestOpen:
				// Placed in the window holding the partition's watermark: the 10-minute-old
				// records are counted, not dead-lettered.
				if placed != 50+1 || len(letters) != 0 || deadLate != 0 {
					t.Errorf("%d records placed, %d dead letters; want 50 placed and none dead-lettered", placed, len(letters))
				}
			}
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "reason=late") ||
				!strings.Contains(out, "example.partition=events/0") {
				t.Errorf("no warning naming the late records and an example:\n%s", out)
			}
		})
	}
}

// A partition whose producer runs an hour behind (far past the lateness) holds back nobody
// once it is idle, and its records still count in their own windows.
func TestEventTimeIdlePartitionWithSkewedClock(t *testing.T) {
	s, cfg := liveStream(t, 2, nil)
	behind := func(p, _ int) time.Duration {
		if p == 1 {
			return -time.Hour
		}
		return 0
	}
	quiet := cfg.IdleTimeout + cfg.Period + cfg.AllowedLateness + time.Second
	for range 3 {
		s.burst(behind)
		s.pass(quiet)
		pipelinetest.WaitFor(t, func() bool { return s.counted() == s.sent })
	}
	s.finish()
}

// A quiet partition's watermark follows the wall clock (rule 5): it writes (empty) partials for
// the windows it passes, so the fleet's aggregator never waits for it; when it speaks again
// with a record on time by its own watermark, for a window the other partition closed long
// ago, that record counts in its window (rule 3), in the quiet partition's own partial of it.
func TestEventTimeQuietPartitionTakesAnOnTimeRecordLater(t *testing.T) {
	s, _ := liveStream(t, 2, nil)
	fast, slow := s.part(0), s.part(1)
	now := s.clock.Now() // 13:00:03
	s.send(fast, false, now.Add(4*time.Second))
	s.send(slow, false, now)
	s.settle()
	for range 40 { // the fast partition's producer runs 4 s ahead; the slow one goes quiet
		now = s.clock.advance(time.Second)
		s.send(fast, false, now.Add(4*time.Second))
		s.settle()
		s.look() // the quiet partition's runner sees each second, as a running worker's does
	}
	// Now 13:00:43: the fast partition's watermark (13:00:42) has closed [13:00:30, 13:00:40).
	// The slow partition's watermark, on the wall clock from its newest event, is 13:00:38: it
	// has written partials through [13:00:20, 13:00:30), and a record at 13:00:38.5 is on time.
	w := time.Date(2026, 11, 21, 13, 0, 30, 0, time.UTC)
	pipelinetest.WaitFor(t, func() bool { return pipelinetest.Summaries(t, s.h.store)[w]["0"] == 10 })
	// The quiet partition's runner passes the wall-clock time on its next tick (a real-time
	// ticker reading the test's clock), which can come after the fast partition's partial: the
	// clock stays at 13:00:43 while the test waits, so only the wall-clock rule can write it.
	pipelinetest.WaitFor(t, func() bool {
		_, ok := s.h.store.Partials(t)[pipelinetest.Key{Start: w.Add(-10 * time.Second), Partition: slow}]
		return ok
	}, "the quiet partition wrote no partial of the window before", w.Format(time.TimeOnly)+": the aggregator would wait for it")
	if _, ok := s.h.store.Partials(t)[pipelinetest.Key{Start: w, Partition: slow}]; ok {
		t.Fatalf("the quiet partition wrote its partial of %v before its watermark passed it", w)
	}
	s.send(slow, false, now.Add(-4500*time.Millisecond))
	s.settle()
	s.finish()
	if got := pipelinetest.Summaries(t, s.h.store)[w]; got["0"] != 10 || got["1"] != 1 {
		t.Errorf("window %v: %v, want 10 from the fast partition and 1 from the slow one", w.Format(time.TimeOnly), got)
	}
}
