package aggregator

import (
	"bytes"
	"testing"
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
	parts := writeWindows(t, env, pr, n, 3, events)
	merge := func(a *Aggregator, w int) []byte { return mergedBytes(t, a, w, parts) }
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
