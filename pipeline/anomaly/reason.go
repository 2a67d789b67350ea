package anomaly

// Reason is the channel that spoke for a point: what about it is surprising. It lets an event
// on a value inside its band make sense to the person reading it: such a value is anomalous
// because its recent shape is one the series has not produced, because it has not changed for
// far longer than the series' values hold, or because the series stopped, not because it is far
// from what was expected; or, beyond every value it has produced, because it never went there
// before.
type Reason uint8

const (
	ReasonNone      Reason = iota // nothing surprising (score 0, or warm-up)
	ReasonDeviation               // the value is far from the expected one (the residual)
	ReasonPattern                 // a new shape of the last few points (novelty), or a stuck value (stuck.go)
	ReasonStopped                 // a run of zeros this series rarely produces
	ReasonRecord                  // a value beyond every value the series has produced (records.go)
)

// String returns the reason as events and log lines write it.
func (r Reason) String() string {
	switch r {
	case ReasonDeviation:
		return "deviation"
	case ReasonPattern:
		return "pattern"
	case ReasonStopped:
		return "stopped"
	case ReasonRecord:
		return "record"
	}
	return "none"
}
