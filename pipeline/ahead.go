package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// A producer whose clock runs ahead (a host with a broken NTP, a device clock, a timestamp in
// the wrong zone that still parses) stamps its records ahead of everyone else's. By rule 2
// alone one such record moves its partition's watermark as far ahead as it is, and every
// other producer's record on the partition is late until the wall clock catches up: for a
// stamp a year ahead, a year, and a restart does not help (the checkpoint carries the
// closedThrough). Its own window would stay open until the clock reached it, and its hold
// with it: the partition's commit point would stay before it, and every restart or rebalance
// would read everything since again. An event cannot reach the broker before it happened, so
// a record's broker time (Record.Time: Kinesis' arrival time, Kafka's timestamp) is the latest
// it can have happened: a record stamped further ahead of it than window.max_ahead takes its
// broker time + max_ahead as its event time (rule 1 of eventtime.go), and counts in that
// window and moves the watermark that far, no further. The broker time is stored with the
// record, so the same records give the same windows on every read (rule 7); the wall clock,
// read per batch, would not, and is used only to count.
//
// On a Kafka topic with CreateTime the broker time is the producer's clock too: a skewed
// producer's broker time is as far ahead as its stamp, and nothing deterministic can tell. Those
// records are counted as ahead of the wall clock, so an operator can alarm on them (and switch
// the topic to LogAppendTime, or bound it with the broker's message.timestamp.after.max.ms).

// Where a record was ahead: of its broker time (it took its broker time + max_ahead), or of
// the wall clock with its broker time as far ahead (CreateTime: it kept its stamp).
const (
	aheadOfBroker = "broker"
	aheadOfClock  = "clock"
)

// aheadWarnEvery is how often at most a partition logs its records ahead.
const aheadWarnEvery = time.Minute

// aheadLog is what a partition has seen ahead since it last logged.
type aheadLog struct {
	broker, clock prometheus.Counter
	n             int64 // records ahead since the last line
	most          int64 // the furthest ahead, ns
	of            string
	example       Position
	warned        int64 // wall time of the last line (Unix ns), 0 for none yet
}

// boundAhead returns the event time of rec, stamped t and read at wall time now: t, or at most
// the record's broker time + window.max_ahead. A record without a usable broker time (a source
// that has none, or the epoch a Kafka producer leaves unset) is not bounded.
func (r *runner) boundAhead(rec *Record, t, now int64) int64 {
	most := int64(r.rt.cfg.MaxAhead)
	// Both times are inside 1970–2200, so t − bt cannot wrap, whatever max_ahead is. A broker
	// time at the epoch is no clock reading but what a Kafka producer that sets no timestamp
	// (or 0) leaves: it bounds nothing.
	if bt := rec.Time.UnixNano(); !rec.Time.IsZero() && bt > minEventTime && bt <= maxEventTime && t-bt > most {
		r.ahead.broker.Inc()
		r.noteAhead(rec, t-bt, aheadOfBroker)
		return bt + most
	}
	if t-now > most {
		r.ahead.clock.Inc()
		r.noteAhead(rec, t-now, aheadOfClock)
	}
	return t
}

func (r *runner) noteAhead(rec *Record, by int64, of string) {
	a := &r.ahead
	a.n++
	if by > a.most {
		a.most, a.of, a.example = by, of, rec.Position
	}
}

// warnAhead logs, at most every aheadWarnEvery, how many records of the partition were ahead
// and the furthest of them, at wall time now.
func (r *runner) warnAhead(now int64) {
	a := &r.ahead
	if a.n == 0 || (a.warned != 0 && now-a.warned < int64(aheadWarnEvery)) {
		return
	}
	msg := "records stamped ahead of their broker time: a producer's clock runs ahead; they count at their broker time + window.max_ahead instead"
	if a.of == aheadOfClock {
		msg = "records stamped ahead of the wall clock, with a broker time as far ahead (Kafka CreateTime): a producer's clock runs ahead, and the partition's watermark moved with it, so other producers' records on it may be late; set the topic to LogAppendTime"
	}
	r.rt.log.Warn(msg, "partition", r.p.String(), "records", a.n, "most_ahead", time.Duration(a.most).String(),
		"of", a.of, "example.position", a.example.String(), "max_ahead", r.rt.cfg.MaxAhead.String())
	a.n, a.most, a.warned = 0, 0, now
}
