package scaling

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus view of the scaling signal. Build one per process with
// NewMetrics and the process's registerer; Observe it with every Signal.
type Metrics struct {
	desired       prometheus.Gauge
	required      prometheus.Gauge
	current       prometheus.Gauge
	backlog       prometheus.Gauge
	trueRate      prometheus.Gauge
	arrival       prometheus.Gauge
	lagSum        prometheus.Gauge
	lagMax        prometheus.Gauge
	lastEval      prometheus.Gauge
	processed     prometheus.Gauge
	utilization   prometheus.Gauge
	reports       prometheus.Gauge
	decisions     *prometheus.CounterVec
	publishErrors prometheus.Counter
	measureErrors prometheus.Counter
	invalid       prometheus.Counter
}

// NewMetrics registers the scaling metrics with reg. It panics on a duplicate registration,
// which is a wiring bug, exactly like prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "weir", Subsystem: "scaling", Name: name, Help: help})
	}
	m := &Metrics{
		desired:     gauge("desired_tasks", "Task count the fleet should run, as last decided by the scaling policy."),
		required:    gauge("required_tasks", "Unrounded, unbounded task requirement: demand divided by the true rate per task."),
		current:     gauge("current_tasks", "Tasks sharing the partitions when the decision was made."),
		backlog:     gauge("backlog_seconds_per_task", "Seconds the current fleet needs to drain the lag at its true rate."),
		trueRate:    gauge("true_rate_per_task", "Records per second one task could process if fully busy (records per CPU second times its vCPUs)."),
		arrival:     gauge("arrival_rate", "Records per second appended to the topic or stream."),
		lagSum:      gauge("lag_sum_records", "Total lag in records across all partitions."),
		lagMax:      gauge("lag_max_records", "Largest single-partition lag in records."),
		lastEval:    gauge("last_evaluation_timestamp_seconds", "Unix time of the last scaling evaluation."),
		processed:   gauge("processed_rate", "Records per second the fleet processed."),
		utilization: gauge("utilization_ratio", "The fleet's CPU seconds per second divided by its tasks' vCPUs."),
		reports:     gauge("load_reports", "Load reports the last fleet sizing read."),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "scaling", Name: "decisions_total",
			Help: "Scaling decisions by the policy branch that produced them.",
		}, []string{"reason"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "scaling", Name: "publish_errors_total",
			Help: "Scaling signals that could not be handed to the metric sink.",
		}),
		measureErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "scaling", Name: "measure_errors_total",
			Help: "Fleet sizings that could not read the load reports, and so published nothing (the signal goes missing).",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "weir", Subsystem: "scaling", Name: "load_reports_invalid_total",
			Help: "Load reports the fleet sizing refused (damaged, or of another format version) and left out.",
		}),
	}
	reg.MustRegister(m.desired, m.required, m.current, m.backlog, m.trueRate, m.arrival,
		m.lagSum, m.lagMax, m.lastEval, m.processed, m.utilization, m.reports, m.decisions,
		m.publishErrors, m.measureErrors, m.invalid)
	return m
}

// Observe sets the gauges from s and counts its decision.
func (m *Metrics) Observe(s Signal) {
	d, in := s.Decision, s.Inputs
	m.desired.Set(float64(d.DesiredTasks))
	m.required.Set(d.RequiredTasks)
	m.current.Set(float64(max(in.CurrentTasks, 1)))
	m.backlog.Set(d.BacklogSecondsPerTask)
	m.trueRate.Set(d.TrueRatePerTask)
	m.arrival.Set(nonNegative(in.ArrivalRate))
	m.lagSum.Set(nonNegative(in.LagSum))
	m.lagMax.Set(nonNegative(in.LagMax))
	m.lastEval.Set(float64(s.Time.UnixNano()) / 1e9)
	m.processed.Set(nonNegative(in.ProcessedRate))
	m.utilization.Set(d.Utilization)
	if s.Fleet != nil {
		m.reports.Set(float64(s.Fleet.Reports))
		m.invalid.Add(float64(s.Fleet.Invalid))
	}
	m.decisions.WithLabelValues(string(d.Reason)).Inc()
}
