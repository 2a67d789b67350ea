package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the runtime's Prometheus metrics. Build them once with NewMetrics from the
// worker's registry; tests use a fresh prometheus.NewRegistry.
type Metrics struct {
	records      *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	late         *prometheus.CounterVec
	ahead        *prometheus.CounterVec
	deadLetters  *prometheus.CounterVec
	lateAcks     prometheus.Counter
	heldBack     prometheus.Counter
	replayed     prometheus.Counter
	partials     prometheus.Counter
	partialDelay prometheus.Histogram
	sinkErrors   *prometheus.CounterVec
	sinkSeconds  *prometheus.HistogramVec
	partitions   prometheus.Gauge
	pending      prometheus.Gauge
	unconfirmed  prometheus.Gauge
	stageRate    *prometheus.GaugeVec
	stages       *stageCollector
}

// NewMetrics registers the runtime's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_records_processed_total",
			Help: "Records folded into window state (or dead-lettered), by stream.",
		}, []string{"stream"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_record_bytes_processed_total",
			Help: "Key and value bytes of processed records, by stream.",
		}, []string{"stream"}),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_late_records_total",
			Help: "Records whose window had already closed, by stream and the policy applied.",
		}, []string{"stream", "policy"}),
		ahead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_ahead_records_total",
			Help: "Records whose event time was ahead by more than window.max_ahead, by stream and of what: of=broker, of their broker time (they moved the watermark only to it + max_ahead); of=clock, of the wall clock with a broker time as far ahead (Kafka CreateTime from a skewed producer: they moved the watermark, and may make others late).",
		}, []string{"stream", "of"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_dead_letters_total",
			Help: "Records written to the dead-letter sink, by reason.",
		}, []string{"reason"}),
		lateAcks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_late_acks_total",
			Help: "Acknowledgements that arrived after their partition was revoked; they commit nothing.",
		}),
		heldBack: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_commits_held_back_total",
			Help: "Commit points not stored because their checkpoint would list more durable windows open at it (straddlers) than a checkpoint holds.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_replayed_records_total",
			Help: "Records read again after a restart or rebalance that a window already durable counts: skipped, not counted twice.",
		}),
		partials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_partials_written_total",
			Help: "Partials made durable (one per partition and window).",
		}),
		partialDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "weir_partial_delay_seconds",
			Help:    "Wall time from a window's end to a partition's partial of it being durable.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
		sinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_sink_write_errors_total",
			Help: "Failed partial and dead-letter writes, by sink (partials, deadletter); what they hold stays unacknowledged and the write is retried.",
		}, []string{"sink"}),
		sinkSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weir_sink_write_duration_seconds",
			Help:    "Duration of one partial write, successful or not.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"sink"}),
		partitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weir_owned_partitions",
			Help: "Partitions (or shards) this worker currently runs.",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weir_pending_partials",
			Help: "Partials closed and queued for their partition's writer, not yet durable.",
		}),
		unconfirmed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weir_partitions_unconfirmed",
			Help: "Partitions caught up and quiet whose source has stopped confirming that nothing waits (a fetch that hangs, a broker out of reach) for the idle timeout and two of its confirmation intervals: their windows wait, as a lagging partition's do.",
		}),
		stageRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weir_stage_time_ratio",
			Help: "Share of the last second a stage's typical goroutine spent in each state (busy, idle, backpressured); the three add up to 1. Times 1000 it is Flink's busy/idle/backPressuredTimeMsPerSecond.",
		}, []string{"stage", "state"}),
	}
	m.stages = newStageCollector()
	reg.MustRegister(m.records, m.bytes, m.late, m.ahead, m.deadLetters, m.lateAcks, m.heldBack, m.replayed, m.partials,
		m.partialDelay, m.sinkErrors, m.sinkSeconds, m.partitions, m.pending, m.unconfirmed, m.stageRate, m.stages)
	return m
}

// observeStages publishes each stage's milliseconds per second in each state since the last
// call; the runtime calls it once a second.
func (m *Metrics) observeStages() {
	now := time.Now().UnixNano()
	for name, s := range m.stages.all() {
		rates := s.perSecond(now)
		for st := StageState(0); st < numStageStates; st++ {
			m.stageRate.WithLabelValues(name, st.String()).Set(rates[st] / 1000)
		}
	}
}
