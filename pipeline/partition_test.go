package pipeline

import (
	"slices"
	"testing"
)

func TestComparePartitions(t *testing.T) {
	ps := []Partition{
		{"orders", "shardId-000000000010"}, {"events", "10"}, {"events", "x"}, {"events", "2"},
		{"orders", "shardId-000000000002"}, {"events", "0"}, {"a", "9"},
	}
	slices.SortFunc(ps, ComparePartitions)
	want := []Partition{
		{"a", "9"}, {"events", "0"}, {"events", "2"}, {"events", "10"}, {"events", "x"},
		{"orders", "shardId-000000000002"}, {"orders", "shardId-000000000010"},
	}
	if !slices.Equal(ps, want) {
		t.Errorf("sorted: %v\nwant %v", ps, want)
	}
}
