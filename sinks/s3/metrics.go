package s3

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// The ops of weir_s3_requests_total: one per S3 API call weir makes.
const (
	opPut               = "put"  // PutObject, conditional or not
	opGet               = "get"  // GetObject
	opList              = "list" // ListObjectsV2
	opCreateMultipart   = "create_multipart"
	opUploadPart        = "upload_part"
	opCompleteMultipart = "complete_multipart"
	opAbortMultipart    = "abort_multipart"
)

type metrics struct {
	objects     *prometheus.CounterVec   // objects written, by kind and outcome
	requests    *prometheus.CounterVec   // every S3 request attempt, by object kind and op
	errors      *prometheus.CounterVec   // failed attempts by reason
	objectBytes *prometheus.HistogramVec // object sizes by kind
	duration    *prometheus.HistogramVec // time to make one object durable, retries included
	multipart   prometheus.Counter

	deadLetters prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_s3_objects_total", Help: "Objects written to S3 by kind and outcome (ok, error; precondition_failed: a conditional write lost to an existing object).",
		}, []string{"kind", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_s3_requests_total",
			Help: "S3 requests sent, retries included (what S3 bills), by object kind and op (put, get, list, " +
				"create_multipart, upload_part, complete_multipart, abort_multipart).",
		}, []string{"kind", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weir_s3_errors_total", Help: "Failed S3 request attempts by reason (throttle, server, network, client, canceled).",
		}, []string{"reason"}),
		objectBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "weir_s3_object_size_bytes", Help: "Size of objects written to S3, by kind.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 12),
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "weir_s3_put_duration_seconds", Help: "Time to make one object durable in S3, retries included, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"kind"}),
		multipart: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_s3_multipart_uploads_total", Help: "Objects written as multipart uploads.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weir_s3_dead_letters_total", Help: "Dead letters made durable in S3.",
		}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.objects, m.requests, m.errors, m.objectBytes, m.duration, m.multipart,
		m.deadLetters} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}
