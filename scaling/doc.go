// Package scaling computes the signal an ECS target-tracking policy scales the fleet by: how
// many tasks the fleet should run (DesiredTasks) and how long the current fleet needs to drain
// its backlog (BacklogSecondsPerTask).
//
// Desired is a pure sizing function over fleet-wide Inputs (arrival rate, backlog, partitions
// and how the demand lies over them, and the true processing rate of a task: records per CPU
// second times its vCPUs), with its formula and a reason for every branch. Measure builds the
// Inputs from one period's evidence: every worker's load report (package load) and the source's
// own view (Kafka end and committed offsets; Kinesis shards, whose backlog comes from the
// readers' MillisBehindLatest). A Sizer gathers that evidence from the store and the source,
// and a FleetPublisher, run by the fleet's aggregator alone, publishes the Signal once per
// period to CloudWatch (one series per service), Prometheus and GET /v1/scaling (Latest).
package scaling
