// Package scaling computes the signal an ECS target-tracking policy scales the fleet by: how
// many tasks the fleet should run (DesiredTasks) and how long the current fleet needs to drain
// its backlog (BacklogSecondsPerTask).
//
// Desired is a pure sizing function over Inputs (arrival rate, backlog, partitions, and the
// true processing rate of a task: observed rate ÷ busy fraction), with its formula and a reason
// for every branch. A Meter measures the Inputs from the lag package's Tracker and the
// runtime's totals; a Publisher evaluates them every Config.Period and publishes the Signal to
// CloudWatch (through the metric sink), Prometheus and GET /v1/scaling (Latest).
package scaling
