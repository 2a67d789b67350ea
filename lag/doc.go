// Package lag measures how far behind the worker is on each partition it owns, with one model
// for Kafka and Kinesis: offset lag (end offset − committed position), time lag (age of the
// newest processed record, or Kinesis MillisBehindLatest), estimated time to drain (lag ÷ recent
// processing rate) and a Burrow-style status evaluated over a sliding wall-clock window.
//
// The sources feed a Tracker with Samples from their own goroutines; the Tracker keeps a short
// history per partition, keeps the Prometheus gauges current (deleting a partition's series
// when it is revoked), and answers Snapshot for the worker's lag points (Analyzer) and health
// counts. The arithmetic lives in pure functions over a History, so it is tested exactly on
// scripted histories. A lag the source cannot tell yet (a partition just taken, a Kinesis
// shard whose first GetRecords has not answered) is Unknown, counted as such, and never
// published as 0, alone or inside a worker-level maximum or sum (report.go). (The fleet's scaling signal does not read it: the aggregator sizes the
// whole fleet from the load reports and the source's own view, package scaling.)
package lag
