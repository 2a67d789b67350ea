package kafka

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Kafka source's own; the runtime counts records.
type metrics struct {
	fetchErrors     prometheus.Counter
	paused          prometheus.Gauge
	pauses          *prometheus.CounterVec
	budgetWaits     prometheus.Counter
	discarded       *prometheus.CounterVec
	commitsMarked   prometheus.Counter
	commitsRejected *prometheus.CounterVec
	commits         prometheus.Counter
	commitsStale    prometheus.Counter
	commitErrors    prometheus.Counter
	checkpoints     *prometheus.CounterVec
	rebalances      *prometheus.CounterVec
	connectErrors   prometheus.Counter
	groupErrors     prometheus.Counter
	poolTrimmed     prometheus.Counter
}

// pooled registers weir_kafka_pooled_bytes, read from bytes at every scrape.
func (m *metrics) pooled(reg prometheus.Registerer, bytes func() int64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "weir_kafka_pooled_bytes",
		Help: "Memory the free lists of fetched records and buffers hold idle for the next fetches (live heap outside the in-flight budget).",
	}, func() float64 { return float64(bytes()) }))
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_fetch_errors_total",
			Help: "Errors returned by fetches (the client retries them).",
		}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weir_kafka_paused_partitions",
			Help: "Partitions whose fetching is paused (backpressure).",
		}),
		pauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kafka_pauses_total",
			Help: "Partitions paused, by the first reason (runner: its runner was blocked on the sinks or took nothing for fetch_max_wait; budget: the in-flight budget was full; store: its store was a window behind and its runner had a batch, so nothing was read ahead).",
		}, []string{"reason"}),
		budgetWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_budget_waits_total",
			Help: "Times polling stopped because the in-flight byte budget was full.",
		}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kafka_records_discarded_total",
			Help: "Fetched records not handed to the pipeline (never committed, so read again by the partition's owner), by reason.",
		}, []string{"reason"}),
		commitsMarked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_commit_marks_total",
			Help: "Checkpoints the runtime handed over for committing.",
		}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_commits_total",
			Help: "Partition checkpoints stored in the consumer group (offset and event-time state).",
		}),
		commitsStale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_commits_stale_total",
			Help: "Partition commits refused for a stale generation or a rebalance in progress (expected while the group rebalances; retried for partitions still owned).",
		}),
		checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kafka_checkpoints_read_total",
			Help: "Partitions assigned, by what their committed offset carried (restored: weir's event-time state; without_state: an offset only; none: no commit).",
		}, []string{"result"}),
		commitsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kafka_commits_rejected_total",
			Help: "Commit points refused, by reason (not_owned: the partition was revoked or lost).",
		}, []string{"reason"}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kafka_commit_errors_total",
			Help: "Partition commits the broker refused for another reason than a rebalance, or whole commit requests that failed.",
		}),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kafka_partition_events_total",
			Help: "Partitions assigned, revoked and lost.",
		}, []string{"event"}),
	}
	m.connectErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "weir_kafka_connect_errors_total",
		Help: "Failed broker connection attempts, including SASL authentication and TLS failures.",
	})
	m.groupErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "weir_kafka_group_errors_total",
		Help: "Errors that broke the consumer group session (the client rejoins).",
	})
	m.poolTrimmed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "weir_kafka_pool_trimmed_bytes_total",
		Help: "Bytes the free lists of fetched records and buffers gave up because no fetch took them for a second (left to the garbage collector).",
	})
	for _, r := range []pauseReason{pausedQueueFull, pausedBudget, pausedStore} {
		m.pauses.WithLabelValues(r.String()) // exported at 0 before the first pause
	}
	for _, r := range []string{"restored", "without_state", "none"} {
		m.checkpoints.WithLabelValues(r)
	}
	reg.MustRegister(m.connectErrors, m.groupErrors, m.poolTrimmed, m.fetchErrors, m.paused, m.pauses, m.budgetWaits, m.discarded, m.commitsMarked,
		m.commitsRejected, m.commits, m.commitsStale, m.commitErrors, m.checkpoints, m.rebalances)
	return m
}
