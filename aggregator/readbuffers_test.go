package aggregator

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/weirstream/weir/pipeline"
)

// readOnly hides a store's AppendPartial: the aggregator reads it with ReadPartial.
type readOnly struct{ Store }

// Reading partials into the readers' reused buffers (AppendPartial, DecodePartialInto) merges
// the same bytes as reading each into new memory, window after window, with partials of very
// different sizes so that a buffer keeping anything of an earlier partial would show it.
func TestReusedReadBuffersMergeTheSameBytes(t *testing.T) {
	const n = 8
	env := fileEnv(t)
	pr := newProducer(t, nil)
	events := func(w, i int) int { return []int{1000, 3, 0, 200, 1, 40, 0, 7}[(i+3*w)%n] }
	parts := make([]pipeline.Partition, n)
	for w := range 3 {
		for i := range n {
			parts[i] = pipeline.Partition{Stream: "events", ID: fmt.Sprint(i)}
			body := pr.partial(t, parts[i], win(w), partitionEvents(w, i, events(w, i)), 0)
			if err := env.writer.WritePartial(ctx, win(w).Start, parts[i], body); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.SortFunc(parts, pipeline.ComparePartitions)
	merge := func(a *Aggregator, w int) []byte {
		t.Helper()
		f, err := a.fold(ctx, win(w), parts)
		if err != nil {
			t.Fatal(err)
		}
		if f.summary.Partitions != n {
			t.Fatalf("window %d: merged %d partials", w, f.summary.Partitions)
		}
		return outputBytes(t, a.output(win(w), f))
	}
	readers := func(o *Options) { o.Config.ReadConcurrency = 2 }
	clk := &clock{now: win(2).End}
	reused := newAgg(t, env, n, nil, clk, readers)
	if _, ok := reused.store.(partialAppender); !ok {
		t.Fatal("the file store does not append: the test would prove nothing")
	}
	plainEnv := *env
	plainEnv.store = readOnly{env.store}
	plain := newAgg(t, &plainEnv, n, nil, clk, readers)
	if _, ok := plain.store.(partialAppender); ok {
		t.Fatal("the wrapped store still appends")
	}
	for _, w := range []int{0, 1, 2, 0} {
		got, want := merge(reused, w), merge(plain, w)
		if !bytes.Equal(got, want) {
			t.Errorf("window %d read into reused buffers:\n%s\nread into new memory:\n%s", w, got, want)
		}
	}
	if len(reused.bufs) == 0 {
		t.Error("no read buffer kept between windows")
	}
}
