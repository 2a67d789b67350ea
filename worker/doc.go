// Package worker assembles weir from its configuration and runs it: the library that
// cmd/worker (flags, signals) and the bench harness both use, so what is measured is what runs.
//
// Config is the input: built-in defaults (DefaultConfig), a YAML file and WEIR_… environment
// variables over them (LoadConfig), checked by Validate with messages that name the field.
// Build turns a Config and the process-wide Deps (one logger, one Prometheus registry) into an
// Assembly: the source, the pipeline runtime with its operators and the partial store, the
// fleet's aggregator (fleet.go) with the report and metric sinks and the anomaly analyzer, the
// lag tracker and its points, the load-report writer and the fleet's scaling publisher (a duty
// of the aggregator's term: scaling.go), ECS task protection and the HTTP endpoints. Run starts them and, on cancellation, shuts them down in the order written once
// in run.go.
//
// The aggregator serves while the source says this worker holds its seat (leadership.go); a
// single worker is a fleet of one and always holds it.
//
// The choices the configuration leaves open are made in policy.go: partials and dead letters
// go to S3 when the S3 sink is on, else to the file sink's directory.
package worker
