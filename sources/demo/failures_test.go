package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/sources/demo"
)

type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Events the broker refuses are counted (weir_demo_produce_failures_total{reason="broker"})
// and the first is logged, once; none is counted as produced. Before, the generator counted
// them in a field nothing read.
func TestRefusedProducesAreCountedAndLogged(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Partitions, cfg.Rate, cfg.Duration = 2, 2000, 500*time.Millisecond
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(cfg.Partitions), cfg.Topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Every produce is refused with a non-retriable error, as a broker refusing the topic
	// would.
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		resp.SetVersion(r.GetVersion())
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.InvalidRecord.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	reg := prometheus.NewRegistry()
	logs := &lockedLog{}
	g, err := demo.NewGenerator(cfg, c.ListenAddrs(), reg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	refused := metrictest.Sum(t, reg, "weir_demo_produce_failures_total", map[string]string{"reason": "broker"})
	if refused == 0 {
		t.Error("no refused produce counted while the broker refused every one")
	}
	if n := g.Produced(); n != 0 {
		t.Errorf("produced %d while the broker refused every produce", n)
	}
	if got := metrictest.Sum(t, reg, "weir_demo_produced_total", nil); got != 0 {
		t.Errorf("weir_demo_produced_total %v while the broker refused every produce", got)
	}
	if n := strings.Count(logs.String(), "the embedded broker did not take a demo event"); n != 1 {
		t.Errorf("the refusal logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "INVALID_RECORD") {
		t.Errorf("the log does not carry the broker's error:\n%s", logs.String())
	}
	t.Logf("%v refused", refused)
	if problems, err := testutil.CollectAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}

// Produced events are counted in weir_demo_produced_total, the same count as Produced.
func TestProducedEventsAreCounted(t *testing.T) {
	cfg := demo.DefaultConfig()
	cfg.Partitions, cfg.Rate, cfg.Duration = 2, 2000, 300*time.Millisecond
	b, err := demo.StartBroker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	reg := prometheus.NewRegistry()
	g, err := demo.NewGenerator(cfg, b.Addrs(), reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := metrictest.Sum(t, reg, "weir_demo_produced_total", nil)
	if got == 0 || got != float64(g.Produced()) {
		t.Errorf("weir_demo_produced_total %v, Produced %d: want the same, above 0", got, g.Produced())
	}
	if f := metrictest.Sum(t, reg, "weir_demo_produce_failures_total", nil); f != 0 {
		t.Errorf("%v failures against a broker that takes everything", f)
	}
}
