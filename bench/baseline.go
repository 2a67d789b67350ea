package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/sources/kafka"
)

// The baselines bound what weir could do on this machine. poll is a bare franz-go consumer
// that only counts records: the physical limit of broker and client here. decode adds what a
// hand-written consumer does next: decode every payload with goccy/go-json (the fastest common
// drop-in for encoding/json) into the event struct and count per tenant, inline in the poll
// loop, as such consumers are written. decode-parallel does the same work on every core: the
// poll loop hands each fetched partition's records to one of GOMAXPROCS goroutines (partition
// mod GOMAXPROCS, so a partition's records stay in order), each decoding and counting into its
// own map, as weir's runners use both cores. All three read the whole topic from the start
// without a group, with the fetch wait weir uses.

// decodedEvent is the payload as a hand-written consumer would declare it.
type decodedEvent struct {
	TS        string  `json:"ts"`
	Tenant    string  `json:"tenant"`
	User      string  `json:"user"`
	Path      string  `json:"path"`
	Method    string  `json:"method"`
	Status    int     `json:"status"`
	Bytes     int     `json:"bytes"`
	LatencyMS float64 `json:"latency_ms"`
}

// tenantCounter decodes payloads and counts them per tenant: the decode baselines' work.
type tenantCounter struct {
	ev      decodedEvent
	tenants map[string]int64
	errs    int64
}

func newTenantCounter() *tenantCounter { return &tenantCounter{tenants: make(map[string]int64)} }

func (c *tenantCounter) count(recs []*kgo.Record) {
	for _, r := range recs {
		if err := gojson.Unmarshal(r.Value, &c.ev); err != nil {
			c.errs++
			continue
		}
		c.tenants[c.ev.Tenant]++
	}
}

// parallelQueue is how many fetched partitions each decode-parallel goroutine may have waiting:
// a bounded queue, so a slow goroutine holds the poll loop back instead of memory growing.
const parallelQueue = 4

func runBaseline(ctx context.Context, sp spec, progress io.Writer) (*result, error) {
	var firstFetch fetchStart
	cl, err := kgo.NewClient(kgo.SeedBrokers(sp.Brokers...), kgo.ConsumeTopics(sp.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(kafka.DefaultConfig().FetchMaxWait),
		kgo.WithHooks(&firstFetch))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// n counts records processed: polled (poll), decoded (decode, decode-parallel).
	var n, bytes atomic.Int64
	pollCtx, stop := context.WithCancel(ctx)
	defer stop()
	var workers sync.WaitGroup
	var queues []chan []*kgo.Record
	var counters []*tenantCounter
	inline := newTenantCounter()
	if sp.Kind == kindParallel {
		for range runtime.GOMAXPROCS(0) {
			q, c := make(chan []*kgo.Record, parallelQueue), newTenantCounter()
			queues, counters = append(queues, q), append(counters, c)
			workers.Go(func() {
				for recs := range q {
					c.count(recs)
					n.Add(int64(len(recs)))
				}
			})
		}
	} else {
		counters = append(counters, inline)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for _, q := range queues {
				close(q)
			}
		}()
		for pollCtx.Err() == nil {
			fs := cl.PollRecords(pollCtx, 10000)
			var size int64
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				for _, r := range p.Records {
					size += int64(len(r.Key) + len(r.Value))
				}
				switch sp.Kind {
				case kindPoll:
					n.Add(int64(len(p.Records)))
				case kindDecode:
					inline.count(p.Records)
					n.Add(int64(len(p.Records)))
				case kindParallel:
					if len(p.Records) == 0 {
						return
					}
					select {
					case queues[int(p.Partition)%len(queues)] <- p.Records:
					case <-pollCtx.Done():
					}
				}
			})
			bytes.Add(size)
		}
	}()
	prof, err := startProfile(sp)
	if err != nil {
		return nil, err
	}
	m := &meter{name: sp.Name, want: sp.Records, begun: firstFetch.begun, count: n.Load, progress: progress}
	if err := m.run(ctx); err != nil {
		return nil, err
	}
	if err := prof.stop(); err != nil {
		return nil, err
	}
	stop()
	<-done
	workers.Wait()
	var decodeErrs int64
	for _, c := range counters {
		decodeErrs += c.errs
	}
	if decodeErrs > 0 {
		return nil, fmt.Errorf("%s: %d payloads did not decode", sp.Name, decodeErrs)
	}
	r := &result{Name: sp.Name, Kind: sp.Kind, Format: sp.Format, Records: n.Load(), Bytes: bytes.Load()}
	m.fill(r)
	return r, nil
}

// fetchStart notes when the client wrote its first Fetch request.
type fetchStart struct{ at atomic.Int64 }

var _ kgo.HookBrokerWrite = (*fetchStart)(nil)

// OnBrokerWrite implements kgo.HookBrokerWrite.
func (f *fetchStart) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, _ error) {
	if key == kmsg.Fetch.Int16() {
		f.at.CompareAndSwap(0, time.Now().UnixNano())
	}
}

func (f *fetchStart) begun() (time.Time, bool) {
	ns := f.at.Load()
	return time.Unix(0, ns), ns != 0
}
