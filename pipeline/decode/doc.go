// Package decode extracts the few fields a stream's operators need from each record payload,
// without building documents: a Plan collects the paths the operators ask for (JSON property
// paths for JSON and msgpack, 1-based positions for Common Log Format lines), and each runner's
// Decoder fills a slice of Values for them in one pass over the payload, stopping as soon as
// every planned field is found. The hot path neither allocates nor reflects; Value.Time reads
// event times (RFC 3339, epoch seconds or milliseconds, CLF time, msgpack timestamps).
//
// The files read as a table of contents: plan.go and decoder.go (the contract), members.go
// and guess.go (finding a member's trie node: by table, and by the record before), json.go
// with json_number.go and json_string.go, msgpack.go with msgpack_number.go and
// msgpack_time.go, clf.go, and value.go, time.go and rfc3339.go for reading the values back.
package decode
