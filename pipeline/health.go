package pipeline

import "sync"

// The CloudWatch metric names of the runtime's health counters. The deploy templates alarm on
// them; changing a name breaks the deployed alarms.
const (
	MetricDeadLetters     = "DeadLetters"
	MetricSinkWriteErrors = "SinkWriteErrors"
)

// HealthMeter turns the runtime's dead-letter and sink-error totals into points counting what
// happened since its previous call. It is meant for a publisher that runs on a timer (the
// scaling signal's), not for window outputs: a sink that keeps failing holds back every later
// window, so a count carried by windows would stop exactly when it matters. Safe for
// concurrent use; each call consumes the counts it reports.
type HealthMeter struct {
	// Stats returns the runtime's totals (Runtime.Stats).
	Stats func() Stats

	mu   sync.Mutex
	prev Stats
}

// Points appends a DeadLetters and a SinkWriteErrors point (counts since the previous call,
// zero when nothing happened, so an alarm on them sees data) to dst. The points carry neither
// time nor dimensions: the publisher stamps them.
func (m *HealthMeter) Points(dst []Point) []Point {
	st := m.Stats()
	m.mu.Lock()
	prev := m.prev
	m.prev = st
	m.mu.Unlock()
	return append(dst,
		Point{Name: MetricDeadLetters, Unit: UnitCount, Value: float64(max(0, st.DeadLetters-prev.DeadLetters))},
		Point{Name: MetricSinkWriteErrors, Unit: UnitCount, Value: float64(max(0, st.SinkErrors-prev.SinkErrors))})
}
