package kinesis

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func shard(id string, parents ...string) types.Shard {
	sh := types.Shard{ShardId: aws.String(id)}
	if len(parents) > 0 {
		sh.ParentShardId = aws.String(parents[0])
	}
	if len(parents) > 1 {
		sh.AdjacentParentShardId = aws.String(parents[1])
	}
	return sh
}

// A finished shard's lease goes once every child has been read past its start, as the KCL's
// cleanup decides, and not a moment before; one whose shard left the stream goes at once.
func TestFinishedToDelete(t *testing.T) {
	// p split into a and b; a and q merged into m; g left the stream's retention.
	shards := []types.Shard{shard("p"), shard("q"), shard("a", "p"), shard("b", "p"), shard("m", "a", "q")}
	for _, tc := range []struct {
		name   string
		leases []lease
		want   []string
	}{
		{"children not created yet", []lease{{Shard: "p", Checkpoint: cpShardEnd}}, nil},
		{"parent still reading", []lease{{Shard: "p", Checkpoint: "12"}, {Shard: "a", Checkpoint: cpTrimHorizon}, {Shard: "b", Checkpoint: cpTrimHorizon}}, nil},
		{"one child not started", []lease{{Shard: "p", Checkpoint: cpShardEnd}, {Shard: "a", Checkpoint: "40"}, {Shard: "b", Checkpoint: cpTrimHorizon}}, nil},
		{"one child at LATEST", []lease{{Shard: "p", Checkpoint: cpShardEnd}, {Shard: "a", Checkpoint: "40"}, {Shard: "b", Checkpoint: cpLatest}}, nil},
		{"both children started", []lease{{Shard: "p", Checkpoint: cpShardEnd}, {Shard: "a", Checkpoint: "40"}, {Shard: "b", Checkpoint: "41"}}, []string{"p"}},
		{"a child finished", []lease{{Shard: "p", Checkpoint: cpShardEnd}, {Shard: "a", Checkpoint: cpShardEnd}, {Shard: "b", Checkpoint: "41"}}, []string{"p"}},
		{"merge: both parents once the child started", []lease{
			{Shard: "a", Checkpoint: cpShardEnd}, {Shard: "q", Checkpoint: cpShardEnd}, {Shard: "b", Checkpoint: "9"},
			{Shard: "m", Checkpoint: "77"}}, []string{"a", "q"}},
		{"merge child not started", []lease{{Shard: "a", Checkpoint: cpShardEnd}, {Shard: "q", Checkpoint: cpShardEnd}, {Shard: "m", Checkpoint: cpTrimHorizon}}, nil},
		{"a child deleted after its own child passed it", []lease{
			{Shard: "p", Checkpoint: cpShardEnd}, {Shard: "b", Checkpoint: "41"}, {Shard: "m", Checkpoint: "77"}}, []string{"p"}},
		{"left the stream", []lease{{Shard: "g", Checkpoint: cpShardEnd}, {Shard: "h", Checkpoint: "5"}}, []string{"g"}},
	} {
		var got []string
		for _, l := range finishedToDelete(shards, tc.leases) {
			got = append(got, l.Shard)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: deletes %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A shard sync never gives a lease back to a shard whose descendants hold leases: its own was
// deleted after it was read to its end, and a new one would read it again from the start.
func TestAncestorsOfLeasedShards(t *testing.T) {
	shards := []types.Shard{shard("p"), shard("q"), shard("a", "p"), shard("b", "p"), shard("m", "a", "q"), shard("x")}
	got := ancestorsOf(shards, map[string]bool{"m": true, "b": true, "x": true})
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if want := []string{"a", "p", "q"}; !slices.Equal(ids, want) {
		t.Errorf("ancestors %v, want %v", ids, want)
	}
}
