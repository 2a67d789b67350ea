package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/pipelinetest"
)

// One producer whose clock runs ahead, beside on-time producers on the same partition: a
// minute, an hour, a year ahead (a host with a broken NTP, a device clock, a timestamp in the
// wrong zone that still parses). Its record's event time is ahead of its broker time (Kinesis'
// arrival time, Kafka's LogAppendTime): the broker's clock is right. By rule 2 alone the
// record moved the partition's watermark to its stamp, and the 100 on-time records after it
// were late, at every skew (until the wall clock caught up: for the year, a year). It may move
// the watermark no further than its broker time + window.max_ahead, and lands in that time's
// window (ahead.go): nothing on time is late, nothing waits for the skewed stamp's window (its
// hold kept the partition's commit point before it until the clock reached it), and it is
// counted and logged as ahead.
func TestEventTimeProducerAheadMakesNothingLate(t *testing.T) {
	for _, skew := range []time.Duration{time.Minute, time.Hour, 365 * 24 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			logs := &logLines{}
			s, _ := liveStream(t, 2, nil, withLog(logs))
			p := s.part(0)
			s.producerAhead(p, skew, false)
			s.pass(30 * time.Second)
			// Nothing is held open for the skewed record: the commit point reaches the last
			// record read (held until its stamp's window closed, it stayed before the skewed
			// record, and every restart would read all since again).
			last := s.next[p] - 1
			pipelinetest.WaitFor(t, func() bool { c, _ := s.h.commits.Get(p); return c == last },
				"the commit point did not reach the last record")
			late := s.close()
			t.Logf("one producer %v ahead of its broker time: %v on-time records late", skew, late)
			s.check()
			if late != 0 {
				t.Errorf("%v on-time records made late by one producer %v ahead, want none", late, skew)
			}
			if n := metrictest.Sum(t, s.h.reg, "weir_ahead_records_total", map[string]string{"of": "broker"}); n != 1 {
				t.Errorf(`weir_ahead_records_total{of="broker"} = %v, want 1 (the skewed record)`, n)
			}
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "partition=events/0") ||
				!strings.Contains(out, "of=broker") {
				t.Errorf("no warning naming the partition and the records ahead:\n%s", out)
			}
		})
	}
}

// On a Kafka topic with CreateTime the broker time is the producer's clock: a skewed producer's
// record is as far ahead of its broker time as of anything, and no deterministic rule can tell
// (rule 7). It still moves the watermark, and the on-time records after it are late; but it is
// counted ahead of the wall clock and logged, naming the partition, so an operator can alarm.
func TestEventTimeProducerAheadWithCreateTimeIsCounted(t *testing.T) {
	for _, skew := range []time.Duration{time.Minute, time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			logs := &logLines{}
			s, _ := liveStream(t, 2, nil, withLog(logs))
			s.producerAhead(s.part(0), skew, true)
			s.pass(30 * time.Second)
			late := s.close()
			t.Logf("one producer %v ahead, CreateTime: %v on-time records late", skew, late)
			if n := metrictest.Sum(t, s.h.reg, "weir_ahead_records_total", map[string]string{"of": "clock"}); n != 1 {
				t.Errorf(`weir_ahead_records_total{of="clock"} = %v, want 1 (the skewed record)`, n)
			}
			if out := logs.String(); !strings.Contains(out, "partition=events/0") || !strings.Contains(out, "of=clock") {
				t.Errorf("no warning naming the partition and the records ahead of the clock:\n%s", out)
			}
		})
	}
}

// producerAhead runs two partitions' on-time producers for 3 s on the clock, 5 records per
// 100 ms each, stamped up to 3.2 s behind it (within the 5 s lateness), and, after 1 s, one
// record on p from a producer skew ahead, with a broker time of now or, createTime, its stamp.
// The on-time records are expected in their windows, the skewed one in the window of its broker
// time + max_ahead (with createTime, in none: its own stays open).
func (s *stream) producerAhead(p pipeline.Partition, skew time.Duration, createTime bool) {
	s.t.Helper()
	for step := range 30 {
		now := s.clock.advance(100 * time.Millisecond)
		if step == 10 {
			ts := now.Add(skew)
			rec := stamped(p, s.next[p], ts)
			if !createTime {
				rec.Time = now
			}
			s.next[p]++
			if !createTime {
				// Counted in the window of its broker time + max_ahead (1 s): the latest it
				// can have happened.
				w := now.Add(time.Second).Truncate(s.period).UTC()
				if s.want[w] == nil {
					s.want[w] = map[string]int64{}
				}
				s.want[w][p.ID]++
				s.sent++
			}
			if err := s.feeds[p].Send(context.Background(), pipeline.Batch{Partition: p, Records: []pipeline.Record{rec}}); err != nil {
				s.t.Fatal(err)
			}
		}
		for i := range 2 {
			var ts []time.Time
			for j := range 5 {
				ts = append(ts, now.Add(-time.Duration(j)*800*time.Millisecond))
			}
			s.send(s.part(i), false, ts...)
		}
		s.settle()
	}
}

// close waits until every record sent is in a durable partial or was late, closes the runtime
// and returns how many were late.
func (s *stream) close() float64 {
	s.t.Helper()
	late := func() float64 { return metrictest.Sum(s.t, s.h.reg, "weir_late_records_total", nil) }
	pipelinetest.WaitFor(s.t, func() bool { return s.counted()+int64(late()) >= s.sent })
	if err := s.h.rt.Close(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	return late()
}

// Rule 7 with a producer ahead: the bound is the record's broker time, stored with it, never
// the wall clock, so the same records read twice (in batches of 7 moving the clock 5 ms a
// batch, and of 400 moving it 3 s a batch beside a partition an hour ahead) give byte-identical
// partials and the same dead letters, with one record in a hundred stamped an hour ahead of its
// broker time.
func TestEventTimeProducerAheadReplayIsDeterministic(t *testing.T) {
	p := pipeline.Partition{Stream: "events", ID: "0"}
	recs := messyPartition(p, time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC))
	for i := 50; i < len(recs); i += 100 {
		at := recs[i].Time
		recs[i] = stamped(p, int64(i), at.Add(time.Hour))
		recs[i].Time = at
	}
	first, again := &pipelinetest.MemStore{}, &pipelinetest.MemStore{}
	h := replayRun(t, first, recs, nil, 7, 5*time.Millisecond, false, pipeline.LateDeadLetter)
	if n := metrictest.Sum(t, h.reg, "weir_ahead_records_total", map[string]string{"of": "broker"}); n != 30 {
		t.Errorf(`weir_ahead_records_total{of="broker"} = %v, want 30`, n)
	}
	replayRun(t, again, recs, nil, 400, 3*time.Second, true, pipeline.LateDeadLetter)
	a, b := partitionBodies(first, p), partitionBodies(again, p)
	if len(a) < 12 {
		t.Fatalf("%d partials, want the 12 windows the records span", len(a))
	}
	samePartials(t, "replay", a, b)
	if fl, al := letterList(first, p), letterList(again, p); strings.Join(fl, ",") != strings.Join(al, ",") {
		t.Errorf("dead letters differ:\nfirst %v\nagain %v", fl, al)
	}
}

// A broker time of the Unix epoch is no broker time: it is what a Kafka producer that sets no
// timestamp (or sets 0) leaves on the record, not a clock reading. Records stamped now with
// such a broker time are not "ahead of it" by fifty-odd years: they keep their stamps and
// count in their own windows, none late, none counted ahead.
func TestEventTimeEpochBrokerTimeIsNoBound(t *testing.T) {
	s, _ := liveStream(t, 1, nil)
	p := s.part(0)
	epoch := time.Unix(0, 0)
	for range 30 {
		now := s.clock.advance(100 * time.Millisecond)
		rec := stamped(p, s.next[p], now)
		rec.Time = epoch
		s.next[p]++
		w := now.Truncate(s.period).UTC()
		if s.want[w] == nil {
			s.want[w] = map[string]int64{}
		}
		s.want[w][p.ID]++
		s.sent++
		if err := s.feeds[p].Send(context.Background(), pipeline.Batch{Partition: p, Records: []pipeline.Record{rec}}); err != nil {
			t.Fatal(err)
		}
		s.settle()
	}
	s.pass(30 * time.Second)
	if late := s.close(); late != 0 {
		t.Errorf("%v records with an epoch broker time were late", late)
	}
	s.check()
	if n := metrictest.Sum(t, s.h.reg, "weir_ahead_records_total", nil); n != 0 {
		t.Errorf("weir_ahead_records_total = %v for records whose broker time is the epoch, want 0", n)
	}
}
