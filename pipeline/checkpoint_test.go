package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCheckpointRoundTrip(t *testing.T) {
	for _, c := range []Checkpoint{
		{Position: Position{Offset: 41}, State: CheckpointState{Period: time.Minute}},
		{Position: Position{Offset: 0}, State: CheckpointState{Period: 10 * time.Second, ClosedThrough: 1_795_266_010_000_000_000,
			Straddlers: []Straddler{{Start: 1_795_266_010_000_000_000, Last: Position{Offset: 57}}, {Start: 1_795_266_020_000_000_000, Last: Position{Offset: 60}}}}},
		{Position: Position{Seq: "49590338271490256608559692538361571095921575989136588898", Sub: 3},
			State: CheckpointState{Period: time.Minute, ClosedThrough: 120_000_000_000,
				Straddlers: []Straddler{{Start: 120_000_000_000, Last: Position{Seq: "49590338271490256608559692538361571095921575989136588899", Sub: 0}}}}},
	} {
		got, err := ParseCheckpoint(c.String())
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", c, got, c)
		}
	}
}

// The largest checkpoint (MaxStraddlers straddlers with Kinesis sequence numbers) fits Kafka's
// default offset.metadata.max.bytes, 4096.
func TestCheckpointFitsKafkaMetadata(t *testing.T) {
	seq := Position{Seq: strings.Repeat("9", 56), Sub: 1<<31 - 1}
	c := Checkpoint{Position: seq, State: CheckpointState{Period: 24 * time.Hour, ClosedThrough: 7_258_118_400_000_000_000}}
	for range MaxStraddlers {
		c.State.Straddlers = append(c.State.Straddlers, Straddler{Start: 7_258_118_400_000_000_000, Last: seq})
	}
	if n := len(c.String()); n > 4096 {
		t.Errorf("the largest checkpoint takes %d bytes, more than Kafka keeps by default", n)
	}
}

func TestParseCheckpointRefuses(t *testing.T) {
	for _, s := range []string{"", "member-7f3a", "weir2 w=1 p=1 ct=0"} {
		if _, err := ParseCheckpoint(s); !errors.Is(err, ErrForeignCheckpoint) {
			t.Errorf("%q: %v, want ErrForeignCheckpoint", s, err)
		}
	}
	for _, s := range []string{
		"weir1", "weir1 w=1 p=1", "weir1 w=0 p=1 ct=0", "weir1 w=1 p=x ct=0", "weir1 w=1 p=1 ct=0 ct=0",
		"weir1 w=1 p=1 ct=0 s=", "weir1 w=1 p=1 ct=0 s=5", "weir1 w=1 p=1 ct=0 x=1", "weir1 w=1 p=12a:0 ct=0",
		"weir1 w=1 p=1 ct=0 s=" + strings.Repeat("1@1;", MaxStraddlers) + "1@1",
	} {
		if _, err := ParseCheckpoint(s); err == nil || errors.Is(err, ErrForeignCheckpoint) {
			t.Errorf("%q: %v, want a parse error", s, err)
		}
	}
}

// ParseCheckpoint reads what other consumers and damaged metadata hold: it must never panic,
// and what it accepts must encode back to a checkpoint that parses to itself.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("weir1 w=10000000000 p=19 ct=1795266010000000000 s=1795266010000000000@19")
	f.Add("weir1 w=60000000000 p=4959033827149025660855969253836157109592157598913658889:3 ct=0")
	f.Add("consumer-1-5c9e")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCheckpoint(s)
		if err != nil {
			return
		}
		again, err := ParseCheckpoint(c.String())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("%q parsed to %+v, which encodes to %q and parses to %+v (%v)", s, c, c.String(), again, err)
		}
	})
}

func TestComparePositions(t *testing.T) {
	for _, c := range []struct {
		a, b Position
		want int
	}{
		{Position{Offset: 1}, Position{Offset: 2}, -1},
		{Position{Offset: 9, Seq: "99", Sub: 0}, Position{Offset: 1, Seq: "100", Sub: 0}, -1}, // by sequence, not the lease's ordinal
		{Position{Seq: "100", Sub: 2}, Position{Seq: "100", Sub: 1}, 1},
		{Position{Seq: "100", Sub: 1}, Position{Seq: "100", Sub: 1}, 0},
	} {
		if got := comparePositions(c.a, c.b); got != c.want {
			t.Errorf("compare(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
