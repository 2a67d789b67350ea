// Package kinesis is weir's Amazon Kinesis Data Streams source: shard leases in a DynamoDB
// table (taken, balanced across the fleet, renewed, fenced by a lease counter), one polling
// reader per owned shard feeding the pipeline runtime in order, checkpoints of only what every
// sink made durable, parents read to their end before their children after a reshard (and
// their leases deleted once the children have passed them), and KPL aggregated records split
// into their user records.
//
// Where things are:
//
//	source.go      Source: New, Run, Close, Lag
//	config.go      Config (source.kinesis) and its defaults
//	startup.go     what Run checks before it creates anything: the stream, the lease table
//	coordinator.go the coordinator: take rounds, handoff requests, shard syncs
//	renewer.go     lease renewals, on their own goroutine
//	expiry.go      when a lease another worker holds counts as expired
//	leader.go      the aggregator's row: taken in take rounds, renewed on its own goroutine
//	balance.go     which leases to take or ask for: the fair share, as the KCL's taker
//	shards.go      ListShards, and the leases a shard sync creates and deletes
//	leasestore.go  the lease table: every read and fenced write
//	fenced.go      fenced writes that survive lost answers
//	checkpoint.go  a held lease: commit points, checkpoints, release, handover, loss
//	reader.go      one shard's reader goroutine: fetches into batches, shard end
//	poller.go      GetShardIterator/GetRecords within the shard's limits
//	deagg.go       KPL aggregated records
//	lag.go, metrics.go
//
// README.md documents the lease table, the IAM actions and how to run against a local server.
package kinesis
