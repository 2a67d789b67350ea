package lag

import (
	"math"
	"time"
)

// OffsetLag is how many records the group still has to commit: End − base, where base is the
// committed position or, with no commit yet, where the group starts consuming. It is clamped
// at 0 because End and the commit are read by two requests (a commit can land between them),
// and it is Unknown when End is.
func OffsetLag(s Sample) int64 {
	if s.End < 0 {
		return Unknown
	}
	return max(0, s.End-s.base())
}

// Rate is the processing rate over h in records per second: how far the processed position
// (or, when the source cannot tell, the committed one) moved from the oldest sample to the
// newest, divided by the time between them. 0 with fewer than two samples or no time between
// them; never negative (a position that went backwards processed nothing we can count).
func Rate(h History) float64 {
	if len(h) < 2 {
		return 0
	}
	first, last := h[0], h[len(h)-1]
	dt := last.Time.Sub(first.Time).Seconds()
	if dt <= 0 {
		return 0
	}
	return max(0, float64(last.progress()-first.progress())/dt)
}

// ArrivalRate is the rate at which records were appended over h, from the End history; 0 when
// End is unknown.
func ArrivalRate(h History) float64 {
	if len(h) < 2 || h[0].End < 0 || h[len(h)-1].End < 0 {
		return 0
	}
	first, last := h[0], h[len(h)-1]
	dt := last.Time.Sub(first.Time).Seconds()
	if dt <= 0 {
		return 0
	}
	return max(0, float64(last.End-first.End)/dt)
}

// Drain is the estimated time to drain lag at rate (records and records/s): 0 without lag,
// +Inf when there is lag and nothing is processed. Callers choose how to show +Inf: JSON null,
// Prometheus +Inf, CloudWatch Config.DrainCap.
func Drain(lag int64, rate float64) float64 {
	switch {
	case lag <= 0:
		return 0
	case rate <= 0:
		return math.Inf(1)
	}
	return float64(lag) / rate
}

// ArrivalTime estimates when End reached offset, that is when the record at offset−1 was
// appended, by interpolating h's End history linearly between the two samples around it
// (records are assumed to arrive evenly between two samples, so the estimate is within one
// Interval). Before the history starts it extrapolates backwards at the history's arrival
// rate, and without any arrivals it answers the oldest sample's time, a lower bound on the age.
// ok is false when End is unknown or offset has not been reached yet.
func ArrivalTime(h History, offset int64) (t time.Time, ok bool) {
	if len(h) == 0 || h[len(h)-1].End < offset || h[0].End < 0 {
		return time.Time{}, false
	}
	if h[0].End >= offset {
		rate := ArrivalRate(h)
		if rate <= 0 || h[0].End == offset {
			return h[0].Time, true
		}
		back := float64(h[0].End-offset) / rate
		return h[0].Time.Add(-time.Duration(back * float64(time.Second))), true
	}
	for i := 1; i < len(h); i++ {
		prev, cur := h[i-1], h[i]
		if cur.End < offset {
			continue
		}
		frac := float64(offset-prev.End) / float64(cur.End-prev.End)
		return prev.Time.Add(time.Duration(frac * float64(cur.Time.Sub(prev.Time)))), true
	}
	return time.Time{}, false // unreachable: the newest End is ≥ offset
}

// TimeLag is how old, at now, the newest processed record is; 0 when the partition is caught
// up (nothing appended beyond what was processed). In order of preference: Kinesis'
// MillisBehind; the source's NewestRecordTime; the arrival time of the newest processed record
// estimated from the End history (Kafka). ok is false when none of them is known.
func TimeLag(h History, now time.Time) (d time.Duration, ok bool) {
	if len(h) == 0 {
		return 0, false
	}
	s := h.newest()
	if s.MillisBehind >= 0 {
		return time.Duration(s.MillisBehind) * time.Millisecond, true
	}
	pos := s.progress()
	if s.End >= 0 && pos >= s.End {
		return 0, true
	}
	if !s.NewestRecordTime.IsZero() {
		return max(0, now.Sub(s.NewestRecordTime)), true
	}
	t, ok := ArrivalTime(h, pos)
	if !ok {
		return 0, false
	}
	return max(0, now.Sub(t)), true
}
