package main

import "testing"

func TestPartitionIndex(t *testing.T) {
	for in, want := range map[string]int32{"0": 0, "7": 7, "shardId-000000000000": 0, "shardId-000000000012": 12} {
		if got, err := partitionIndex(in); err != nil || got != want {
			t.Errorf("partitionIndex(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "shardId-", "shard-3", "chaos/3"} {
		if _, err := partitionIndex(bad); err == nil {
			t.Errorf("partitionIndex(%q) accepted", bad)
		}
	}
}

// A checkpoint covers a shard's last record when it is that record's sequence number or a later
// one (compared as numbers: Kinesis sequence numbers outgrow every integer type), or SHARD_END;
// TRIM_HORIZON and a missing lease cover nothing.
func TestCheckpointPast(t *testing.T) {
	const last = "49680900602459231251234567890123456789012345678901234562"
	for _, c := range []struct {
		cp   string
		want bool
	}{
		{last, true},
		{"49680900602459231251234567890123456789012345678901234563", true},
		{"49680900602459231251234567890123456789012345678901234561", false},
		{"9680900602459231251234567890123456789012345678901234562", false}, // shorter: smaller
		{"SHARD_END", true},
		{"TRIM_HORIZON", false},
		{"", false},
	} {
		if got := checkpointPast(c.cp, last); got != c.want {
			t.Errorf("checkpointPast(%q) = %v, want %v", c.cp, got, c.want)
		}
	}
}
