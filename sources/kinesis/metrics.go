package kinesis

import "github.com/prometheus/client_golang/prometheus"

// metrics are the Kinesis source's own; the runtime counts records.
type metrics struct {
	leasesHeld      prometheus.Gauge
	leaseEvents     *prometheus.CounterVec
	apiErrors       *prometheus.CounterVec
	getRecords      prometheus.Counter
	records         prometheus.Counter
	deaggregated    prometheus.Counter
	deaggErrors     prometheus.Counter
	discarded       *prometheus.CounterVec
	commitsRejected *prometheus.CounterVec
	checkpoints     prometheus.Counter
	checkpointErrs  prometheus.Counter
	resumed         *prometheus.CounterVec
	budgetWaits     prometheus.Counter
	millisBehind    *prometheus.GaugeVec
	arrivalLag      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		leasesHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weir_kinesis_leases_held",
			Help: "Shard leases this worker holds.",
		}),
		leaseEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kinesis_lease_events_total",
			Help: "Lease changes by event: taken (free), taken_expired, taken_handoff (handed over to this worker), handoff_requested, handed_over, handover_abandoned (cut short by the shutdown deadline: the lease expires), lost, released, shard_end, shard_end_deferred (read to its end, but not everything durable in time: released for a re-read of its tail; its children wait), created, deleted (a finished shard's lease, once its children passed it), recovered (a write whose answer was lost had landed).",
		}, []string{"event"}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kinesis_api_errors_total",
			Help: "Failed Kinesis and DynamoDB calls by operation and reason (throttle, server, network, client, canceled); retried with backoff.",
		}, []string{"op", "reason"}),
		getRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_get_records_calls_total",
			Help: "Successful GetRecords calls.",
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_records_fetched_total",
			Help: "User records fetched (after KPL de-aggregation).",
		}),
		deaggregated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_aggregated_records_total",
			Help: "Kinesis records that were KPL aggregates and were split into their user records.",
		}),
		deaggErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_deaggregation_errors_total",
			Help: "Records with the KPL magic prefix that were not valid aggregates (bad checksum or protobuf); handed on unchanged.",
		}),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kinesis_records_discarded_total",
			Help: "Fetched records not handed to the pipeline (never checkpointed, so read again by the shard's owner), by reason.",
		}, []string{"reason"}),
		commitsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kinesis_commits_rejected_total",
			Help: "Commit points refused, by reason (not_owned: the lease was lost or released).",
		}, []string{"reason"}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_checkpoints_total",
			Help: "Checkpoints written to the lease table (position and event-time state in one update).",
		}),
		checkpointErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_checkpoint_errors_total",
			Help: "Checkpoint writes that failed after the lease store's retries (a lost lease is not one: see weir_kinesis_lease_events_total); the shard's records since the last checkpoint that held are read again by its next reader.",
		}),
		resumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_kinesis_checkpoints_read_total",
			Help: "Leases taken, by what their checkpoint carried (restored: weir's event-time state; without_state: a sequence number only; none: a shard read from its start).",
		}, []string{"result"}),
		budgetWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_kinesis_budget_waits_total",
			Help: "Times a shard stopped calling GetRecords because the in-flight byte budget was full.",
		}),
		millisBehind: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weir_kinesis_millis_behind_latest",
			Help: "MillisBehindLatest of the shard's last GetRecords call (0 when caught up; absent until the shard's first GetRecords under this lease answers, whose lag is unknown until then).",
		}, []string{"shard"}),
		arrivalLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weir_kinesis_arrival_lag_seconds",
			Help: "Time between the arrival of the shard's last fetched record in Kinesis and its fetch.",
		}, []string{"shard"}),
	}
	reg.MustRegister(m.leasesHeld, m.leaseEvents, m.apiErrors, m.getRecords, m.records, m.deaggregated,
		m.deaggErrors, m.discarded, m.commitsRejected, m.checkpoints, m.checkpointErrs, m.resumed, m.budgetWaits, m.millisBehind, m.arrivalLag)
	for _, r := range []string{"restored", "without_state", "none"} {
		m.resumed.WithLabelValues(r)
	}
	return m
}

// forgetShard deletes a shard's series when this worker stops reading it.
func (m *metrics) forgetShard(shard string) {
	m.millisBehind.DeleteLabelValues(shard)
	m.arrivalLag.DeleteLabelValues(shard)
}
