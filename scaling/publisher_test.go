package scaling

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/weirstream/weir/pipeline"
)

func TestPublisherTickPublishesEverywhere(t *testing.T) {
	var latest Latest
	m := NewMetrics(prometheus.NewRegistry())
	var emitted []pipeline.Point
	fail := false
	p := &Publisher{
		Config: DefaultConfig(), TaskID: "t1",
		Fleet:   []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}},
		Measure: func(time.Time) Inputs { return Inputs{CurrentTasks: 2, Partitions: 4} },
		Emit: func(_ context.Context, pts []pipeline.Point) error {
			if fail {
				return errors.New("throttled")
			}
			emitted = append(emitted, pts...)
			return nil
		},
		Latest: &latest, Metrics: m,
	}
	now := time.Date(2025, 3, 1, 12, 0, 42, 0, time.UTC)
	s, err := p.Tick(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := latest.Get(); !ok || got.Decision != s.Decision {
		t.Fatalf("latest = %+v %v", got, ok)
	}
	if len(emitted) != 18 || !emitted[0].Time.Equal(now.Truncate(time.Minute)) {
		t.Fatalf("emitted %d points at %v", len(emitted), emitted[0].Time)
	}
	fail = true
	if _, err := p.Tick(context.Background(), now.Add(time.Minute)); err == nil {
		t.Fatal("emit failure not reported")
	}
	if got := testutil.ToFloat64(m.publishErrors); got != 1 {
		t.Fatalf("publish errors = %v, want 1", got)
	}
}

// Health points are published with every signal, stamped with its time and the fleet's
// dimensions.
func TestPublisherPublishesHealthWithTheSignal(t *testing.T) {
	fleet := []pipeline.Dimension{{Name: "ServiceName", Value: "weir"}}
	var emitted []pipeline.Point
	p := &Publisher{
		Config: DefaultConfig(), TaskID: "t1", Fleet: fleet,
		Measure: func(time.Time) Inputs { return Inputs{} },
		Health: func(time.Time) []pipeline.Point {
			return []pipeline.Point{{Name: "DeadLetters", Unit: pipeline.UnitCount, Value: 3}}
		},
		Emit: func(_ context.Context, pts []pipeline.Point) error { emitted = append(emitted, pts...); return nil },
	}
	now := time.Date(2025, 3, 1, 12, 0, 42, 0, time.UTC)
	if _, err := p.Tick(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, pt := range emitted {
		if pt.Name != "DeadLetters" {
			continue
		}
		found = true
		if pt.Value != 3 || !pt.Time.Equal(now.Truncate(time.Minute)) || len(pt.Dimensions) != 1 || pt.Dimensions[0] != fleet[0] {
			t.Errorf("health point %+v: want 3 at %v with %v", pt, now.Truncate(time.Minute), fleet)
		}
	}
	if !found || len(emitted) != 19 {
		t.Errorf("emitted %d points (health found: %v), want the 18 of the signal and 1 health point", len(emitted), found)
	}
}

func TestPublisherRunTicksUntilCancelled(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Period = time.Second
	var mu sync.Mutex
	ticks := 0
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{Config: cfg, Measure: func(time.Time) Inputs {
		mu.Lock()
		defer mu.Unlock()
		if ticks++; ticks == 2 {
			cancel()
		}
		return Inputs{}
	}}
	done := make(chan error)
	go func() { done <- p.Run(ctx, nil) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	if ticks != 2 {
		t.Fatalf("ticks = %d", ticks)
	}
	if err := (&Publisher{Config: Config{}}).Run(context.Background(), nil); err == nil {
		t.Fatal("invalid config accepted")
	}
}
