package worker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sinks/file/filetest"
)

// The whole worker against Kafka, on a topic with LogAppendTime: one record stamped an hour
// ahead (a producer whose clock runs ahead) between on-time ones on a partition. Its broker
// time is the broker's append time, so it counts at that time + window.max_ahead, and the
// on-time records after it are not late: all 201 reach the reports. By its stamp alone, the
// 100 after it were dead-lettered late.
func TestWorkerProducerAheadOnLogAppendTime(t *testing.T) {
	c, cl := newTopic(t, 1)
	ctx := context.Background()
	adm := kadm.NewClient(cl)
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "message.timestamp.type",
		Value: kadm.StringPtr("LogAppendTime")}}, "events"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := func(ts time.Time) *kgo.Record {
		return &kgo.Record{Topic: "events", Partition: 0, Value: fmt.Appendf(nil, `{"ts":%q}`, ts.UTC().Format(time.RFC3339Nano))}
	}
	var recs []*kgo.Record
	for i := range 100 {
		recs = append(recs, rec(now.Add(-time.Duration(100-i)*10*time.Millisecond)))
	}
	recs = append(recs, rec(now.Add(time.Hour)))
	for range 100 {
		recs = append(recs, rec(now))
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := kafkaConfig(c, "ahead", dir)
	cfg.Window.TimeField, cfg.Window.AllowedLateness, cfg.Window.IdleTimeout = "$.ts", 2*time.Second, 300*time.Millisecond
	w, stop := runWorker(t, cfg, testDeps())
	deadline := time.Now().Add(30 * time.Second)
	for w.Stats().Records < int64(len(recs)) || filetest.Records(t, dir) < int64(len(recs)) {
		if time.Now().After(deadline) {
			t.Fatalf("processed %d records, %d in reports, %d dead letters after 30s; want all %d in reports",
				w.Stats().Records, filetest.Records(t, dir), w.Stats().DeadLetters, len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := w.Stats().DeadLetters; n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}
