package pipeline

import "sync"

// The CloudWatch metric names of the runtime's health counters. The deploy templates alarm on
// them; changing a name breaks the deployed alarms.
const (
	MetricDeadLetters     = "DeadLetters"
	MetricSinkWriteErrors = "SinkWriteErrors"
	// MetricCommitErrors counts the source's failed commits (Kafka offset commits, Kinesis
	// checkpoint writes, each after the source's own retries): while they fail the partitions
	// keep being processed, but a crash or a rebalance replays everything since the last
	// commit that held, and the source's view of the lag grows.
	MetricCommitErrors = "CommitErrors"
)

// HealthMeter turns the runtime's dead-letter and sink-error totals, and the source's failed
// commits, into points counting what happened since its previous call. It is meant for a
// publisher that runs on a timer (the scaling signal's), not for window outputs: a sink that
// keeps failing holds back every later window, so a count carried by windows would stop
// exactly when it matters. Safe for concurrent use; each call consumes the counts it reports.
type HealthMeter struct {
	// Stats returns the runtime's totals (Runtime.Stats).
	Stats func() Stats
	// CommitErrors returns the source's total of failed commits; nil when the source commits
	// nothing (then no CommitErrors point is made: a zero would claim commits that succeed).
	CommitErrors func() int64

	mu         sync.Mutex
	prev       Stats
	prevCommit int64
}

// Points appends a DeadLetters, a SinkWriteErrors and (with CommitErrors set) a CommitErrors
// point (counts since the previous call, zero when nothing happened, so an alarm on them sees
// data) to dst. The points carry neither time nor dimensions: the publisher stamps them.
func (m *HealthMeter) Points(dst []Point) []Point {
	st := m.Stats()
	var commits int64
	if m.CommitErrors != nil {
		commits = m.CommitErrors()
	}
	m.mu.Lock()
	prev, prevCommit := m.prev, m.prevCommit
	m.prev, m.prevCommit = st, commits
	m.mu.Unlock()
	dst = append(dst,
		Point{Name: MetricDeadLetters, Unit: UnitCount, Value: float64(max(0, st.DeadLetters-prev.DeadLetters))},
		Point{Name: MetricSinkWriteErrors, Unit: UnitCount, Value: float64(max(0, st.SinkErrors-prev.SinkErrors))})
	if m.CommitErrors != nil {
		dst = append(dst, Point{Name: MetricCommitErrors, Unit: UnitCount, Value: float64(max(0, commits-prevCommit))})
	}
	return dst
}
