package lag

import "time"

// FleetSample is the whole topic or stream as the consumer group sees it: every partition,
// not only this worker's. Any member can read it (Kafka: end offsets of all partitions and the
// group's commits), and the autoscaling decision needs exactly this view, because it sizes
// the whole fleet.
type FleetSample struct {
	Time time.Time
	// Ends is the sum of every partition's end offset; its growth is the arrival rate.
	// Unknown when the source has no end offsets (Kinesis).
	Ends int64
	// LagSum and LagMax are the group's offset lag over every partition.
	LagSum, LagMax int64
	// Partitions is the number of partitions (or open shards); Members the group's members
	// (0 when unknown).
	Partitions, Members int
}

// Fleet is the latest FleetSample with the arrival rate derived from the recent history.
type Fleet struct {
	FleetSample
	// ArrivalRate is records appended per second across the whole topic.
	ArrivalRate float64
}

// ObserveFleet records a whole-topic sample.
func (t *Tracker) ObserveFleet(s FleetSample) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fleet == nil {
		t.fleet = make(History, 0, t.cfg.capacity())
	}
	t.fleet = t.fleet.push(Sample{Time: s.Time, End: s.Ends, Committed: Unknown, Start: 0,
		Processed: Unknown, MillisBehind: Unknown}, t.cfg)
	if len(t.fleet) > 0 && t.fleet.newest().Time.Equal(s.Time) {
		t.fleetLast = s
	}
}

// Fleet returns the whole-topic view as of now, with the arrival rate averaged over the last
// span (at most the window; the scaling signal asks for its period). ok is false before the
// first sample and when the last one is older than three Intervals: a stale whole-topic lag
// would keep steering the fleet after the poller stopped, so callers fall back instead.
func (t *Tracker) Fleet(now time.Time, span time.Duration) (f Fleet, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fleet) == 0 || now.Sub(t.fleetLast.Time) > 3*t.cfg.Interval {
		return Fleet{}, false
	}
	h := t.fleet
	from := h.newest().Time.Add(-span)
	i := len(h) - 1
	for i > 0 && h[i].Time.After(from) {
		i--
	}
	return Fleet{FleetSample: t.fleetLast, ArrivalRate: ArrivalRate(h[i:])}, true
}
