package aggregator

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// growingPartitions is a partition set that grows while the aggregator runs, as a Kinesis
// lease table does when a reshard gives the children leases.
type growingPartitions struct {
	mu sync.Mutex
	ps []pipeline.Partition
}

func (g *growingPartitions) Partitions(context.Context) ([]pipeline.Partition, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.ps), nil
}

func (g *growingPartitions) set(ps []pipeline.Partition) {
	g.mu.Lock()
	g.ps = ps
	g.mu.Unlock()
}

// A shard split: partition 3 ends in window 0 and its children 4 and 5 get leases, but write
// their partials of windows 1 and 2 later than partitions 0–2 (they are taken once the parent
// is finished). The partition set read before the split must not decide windows 1 and 2: they
// wait for the children, whose records would otherwise be left out of the reports for good (a
// window merged complete is not watched for late partials). Found by the chaos harness
// (`-source kinesis -splits 1`): every window between the split and the set's next refresh
// (partitions_refresh, 1 minute) was reported without the children.
func TestReshardChildrenJoinBeforeTheirWindowsMerge(t *testing.T) {
	eachStore(t, func(t *testing.T, env *storeEnv) {
		pr := newProducer(t, nil)
		events := dataset(3, 300, 1)
		parts := pr.partials(t, events, 6, 3)
		endParent(t, parts, ref{window: 0, p: pipeline.Partition{Stream: "events", ID: "3"}})
		parent := func(k ref) bool { return k.p.ID == "3" }
		child := func(k ref) bool { return k.p.ID == "4" || k.p.ID == "5" }
		// The parent has records up to the split (window 0), the children after it.
		written := func(k ref) bool {
			return (parent(k) && k.window == 0) || (child(k) && k.window > 0) || (!parent(k) && !child(k))
		}
		env.write(t, parts, func(k ref) bool { return written(k) && !child(k) })

		set := &growingPartitions{ps: partitions(4)}
		clk := &clock{now: win(0).End.Add(10 * time.Second)}
		pub := newPublished(t)
		a := newAgg(t, env, 4, pub, clk, func(o *Options) {
			o.Partitions = set
			o.Config.PartitionsRefresh = time.Hour // the set is not due for its periodic refresh
		})
		tm := begin(t, a, 1)
		drive(t, tm) // window 0: complete with the parent's Ended partial
		set.set(partitions(6))
		clk.now = win(2).End.Add(10 * time.Second) // well within the grace of windows 1 and 2
		drive(t, tm)
		for w := 1; w <= 2; w++ {
			if b := env.report(t, "summary", SummaryName, win(w)); b != nil {
				t.Errorf("window %d merged before the children delivered it: %s", w, b)
			}
		}
		env.write(t, parts, func(k ref) bool { return written(k) && child(k) })
		drive(t, tm)
		for w := range 3 {
			want := recordsIn(events, w, func(e event) bool { return written(ref{window: w, p: partitionOf(e, 6)}) })
			if got := throughputOf(t, env, win(w)).Records; got != want {
				t.Errorf("window %d: the global throughput report counts %d records, want %d", w, got, want)
			}
			if n := pub.count(win(w)); n != 1 {
				t.Errorf("window %d published %d times", w, n)
			}
		}
	})
}

// endParent marks the partial at k as its partition's last (Ended).
func endParent(t *testing.T, parts map[ref][]byte, k ref) {
	t.Helper()
	pt, err := pipeline.DecodePartial(parts[k])
	if err != nil {
		t.Fatal(err)
	}
	pt.Ended = true
	if parts[k], err = pipeline.EncodePartial(pt); err != nil {
		t.Fatal(err)
	}
}
