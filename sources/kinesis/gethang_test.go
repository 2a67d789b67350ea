package kinesis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/kinesis"
)

// hangGetRecords holds every GetRecords call made while on until end, then makes it: a read
// path that stops answering (a partition between the worker and Kinesis, calls throttled or
// timing out, a new owner's first read held by a throttled shard, a slow iterator or a lease
// just stolen) while everything else goes through.
type hangGetRecords struct {
	kinesis.StreamAPI
	on      atomic.Bool
	once    sync.Once
	release chan struct{}
}

// newHangGetRecords returns the wrapper, holding calls from the start if on.
func newHangGetRecords(on bool) *hangGetRecords {
	h := &hangGetRecords{release: make(chan struct{})}
	h.on.Store(on)
	return h
}

func (h *hangGetRecords) GetRecords(ctx context.Context, in *awskinesis.GetRecordsInput, optFns ...func(*awskinesis.Options)) (*awskinesis.GetRecordsOutput, error) {
	if h.on.Load() {
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.StreamAPI.GetRecords(ctx, in, optFns...)
}

// end stops holding calls and lets the held ones through; it may be called more than once.
func (h *hangGetRecords) end() {
	h.once.Do(func() {
		h.on.Store(false)
		close(h.release)
	})
}

// A shard whose GetRecords calls hang for fifteen idle timeouts while the worker keeps running,
// its ticks seeing a partition whose last fetch said "caught up": the records that reached the
// shard meanwhile (their event time is their arrival) must count in their windows when the
// calls answer again, not be dead-lettered late. The shard is quiet only while its reader
// confirms it caught up (rule 4 of pipeline/eventtime.go).
func TestGetRecordsThatHangMakesNothingLate(t *testing.T) {
	srv := moto.Start(t)
	e := newEnv(t, srv.Endpoint(), srv.Endpoint())
	const stream = "hang"
	e.createStream(t, stream, 1)
	hang := newHangGetRecords(false)
	st := newStore()
	w := e.startWorker(t, stream, st, workerOpts{id: "a",
		opts: []kinesis.Option{kinesis.WithStreamAPI(func(next kinesis.StreamAPI) kinesis.StreamAPI {
			hang.StreamAPI = next
			return hang
		})},
		window: func(wc *pipeline.WindowConfig) { wc.Time = pipeline.EventTime }, // arrival time, no lateness
	})

	var (
		mu   sync.Mutex
		sent []string
		quit = make(chan struct{})
		done = make(chan struct{})
	)
	go func() { // a record every 50 ms, each acknowledged before the next
		defer close(done)
		for i := 0; ; i++ {
			v := fmt.Sprintf("hang/%06d", i)
			if _, err := e.kin.PutRecord(context.Background(), &awskinesis.PutRecordInput{StreamName: aws.String(stream),
				PartitionKey: aws.String("k"), Data: []byte(v)}); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			sent = append(sent, v)
			mu.Unlock()
			select {
			case <-quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	waitUntil(t, 30*time.Second, "the first records counted", func() bool { return st.Distinct() > 0 }, w)
	hang.on.Store(true)
	time.Sleep(3 * time.Second) // 15 idle timeouts
	if n := metrictest.Sum(t, w.Reg, "weir_partitions_unconfirmed", nil); n != 1 {
		t.Errorf("weir_partitions_unconfirmed is %v during the hang, want 1", n)
	}
	hang.end()
	time.Sleep(time.Second)
	close(quit)
	<-done
	waitUntil(t, 30*time.Second, "every record counted or dead-lettered", func() bool {
		return st.Distinct()+st.DeadLetters() >= len(sent)
	}, w)
	missing, dups := st.Check(sent)
	late := metrictest.Sum(t, w.Reg, "weir_late_records_total", nil)
	t.Logf("%d records sent: %d not counted in their window, %d counted twice, %v late", len(sent), missing, dups, late)
	if missing != 0 || dups != 0 || late != 0 {
		t.Errorf("%d of %d records sent while GetRecords hung not counted (%v late), %d counted twice; want none",
			missing, len(sent), late, dups)
	}
	if n := metrictest.Sum(t, w.Reg, "weir_partitions_unconfirmed", nil); n != 0 {
		t.Errorf("weir_partitions_unconfirmed is %v once GetRecords answers again, want 0", n)
	}
	w.Stop(t)
}
