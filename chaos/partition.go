package main

import (
	"fmt"
	"strconv"
	"strings"
)

// partitionIndex is the harness's number for a partition as the outputs name it: a Kafka
// partition ("3") or a Kinesis shard id ("shardId-000000000003", whose number kinesalite and
// Kinesis give in order of creation, children of a reshard after their parents).
func partitionIndex(s string) (int32, error) {
	digits := strings.TrimPrefix(s, "shardId-")
	n, err := strconv.ParseInt(digits, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("partition %q: neither a number nor a shard id", s)
	}
	return int32(n), nil
}
