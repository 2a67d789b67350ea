// Package load is the worker's load report: once every scaling period each worker writes what
// it processed and what that cost it (records, process CPU seconds, its vCPUs, and per owned
// partition the records and, on Kinesis, MillisBehindLatest) under
// kind=load/t=<period start>/worker=<id>.msgpack. The fleet's aggregator reads one period's
// reports and sizes the fleet from them (scaling.Sizer): the fleet measures itself as one, so
// a task that owns only cold partitions, or runs more partition runners than it has vCPUs,
// no longer distorts the decision.
//
// Load is measured, not derived from the records, so a report is not replay-deterministic and
// does not belong in the partials, which must be.
package load
