package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// The slow store's delays: the base latency plus jitter below its bound, and the tail at about
// one write in N, in the same sequence in every run (before and after see the same store).
func TestSlowStoreDelays(t *testing.T) {
	l := storeLatency{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond, TailEvery: 20, Tail: 500 * time.Millisecond}
	a, b := l.wrap(nil).(*slowStore), l.wrap(nil).(*slowStore)
	const n = 20000
	tails := 0
	for i := range n {
		d := a.delay()
		if d != b.delay() {
			t.Fatalf("write %d: two stores gave different delays", i)
		}
		switch {
		case d == l.Tail:
			tails++
		case d < l.Latency || d >= l.Latency+l.Jitter:
			t.Fatalf("write %d: delay %v, want the tail or in [%v, %v)", i, d, l.Latency, l.Latency+l.Jitter)
		}
	}
	if want := n / l.TailEvery; tails < want*8/10 || tails > want*12/10 {
		t.Errorf("%d of %d writes took the tail, want about %d", tails, n, want)
	}
}

func TestStoreLatencyFlags(t *testing.T) {
	parse := func(args ...string) (options, error) {
		o := defaultOptions()
		fl := flag.NewFlagSet("bench", flag.ContinueOnError)
		fl.SetOutput(io.Discard)
		o.register(fl)
		if err := fl.Parse(append([]string{"-rules", "../examples/rules/*.json"}, args...)); err != nil {
			return o, err
		}
		return o, o.finish(fl)
	}
	o, err := parse("-store-latency", "30ms", "-store-tail", "20:500ms", "-window", "10s")
	if err != nil {
		t.Fatal(err)
	}
	want := storeLatency{Latency: 30 * time.Millisecond, TailEvery: 20, Tail: 500 * time.Millisecond}
	if o.StoreLatency != want || o.Window != 10*time.Second {
		t.Errorf("got %+v, window %v; want %+v, 10s", o.StoreLatency, o.Window, want)
	}
	for _, bad := range [][]string{
		{"-store-tail", "500ms"}, {"-store-tail", "0:500ms"}, {"-store-tail", "20:-1s"},
		{"-store-latency", "-5ms"}, {"-window", "0s"}, {"-window", "2h"},
	} {
		_, err := parse(bad...)
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "-")[:5]) {
			t.Errorf("%v: got %v, want an error naming the flag", bad, err)
		}
	}
}
