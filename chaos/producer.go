package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sources/demo"
)

// producePlan is the producer process's traffic. The records are the demo's access-log events
// stamped with the producer's wall clock ($.ts, to the millisecond), keyed by tenant: the
// tenants are Zipf-distributed, so the partitions their keys hash to are unevenly loaded (some
// hot, some cold), as in a real multi-tenant topic. Traffic comes in active spells at Rate,
// separated by quiet spells, some longer than the workers' idle timeout, so windows are also
// closed by the wall clock while workers come and go.
type producePlan struct {
	Source   string        `json:"source"`             // kafka | kinesis
	Brokers  []string      `json:"brokers,omitempty"`  // Kafka
	Endpoint string        `json:"endpoint,omitempty"` // Kinesis: kinesalite
	Topic    string        `json:"topic"`              // the topic or the stream
	Window   time.Duration `json:"window"`
	// Lateness is the workers' window.allowed_lateness: a record acknowledged after its
	// window's end + Lateness is counted as delivered late (tally.DeliveredLate).
	Lateness time.Duration `json:"lateness"`
	Seed     uint64        `json:"seed"`
	traffic
}

// traffic is what the producer sends.
type traffic struct {
	Rate    int           `json:"rate"`    // records per second within an active spell
	Produce time.Duration `json:"produce"` // how long the producer runs
	// Active and quiet spells last a uniform draw from [Min, Max].
	ActiveMin time.Duration `json:"active_min"`
	ActiveMax time.Duration `json:"active_max"`
	QuietMin  time.Duration `json:"quiet_min"`
	QuietMax  time.Duration `json:"quiet_max"`
	// Undecodable is the share of records whose JSON is broken on purpose.
	Undecodable float64 `json:"undecodable"`
}

// produceTick is how often the producer sends what its rate owes.
const produceTick = 10 * time.Millisecond

// runProducer is the producer process: it produces plan, then writes the tally of what the
// broker acknowledged as one JSON object on out. progress gets a line per spell.
func runProducer(ctx context.Context, plan producePlan, out, progress io.Writer) error {
	var (
		snd sender
		err error
	)
	switch plan.Source {
	case "kinesis":
		snd, err = newKinesisSender(ctx, plan.Endpoint, plan.Topic)
	default:
		snd, err = newKafkaSender(ctx, plan.Brokers, plan.Topic)
	}
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer snd.close()
	p := &producer{snd: snd, plan: plan, tally: newTally(),
		rng:     rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x70726f64)),
		tenants: demo.NewZipf(200, 1.1), users: demo.NewZipf(20000, 1.05)}
	if err := p.run(ctx, progress); err != nil {
		return err
	}
	if err := snd.flush(ctx); err != nil {
		return err
	}
	p.wg.Wait()
	return json.NewEncoder(out).Encode(p.tally)
}

// sender writes the producer's records to the stream.
type sender interface {
	// send writes one record (or queues it for the next tick) and calls done once the server
	// answered: the record's partition, or the error it never got past.
	send(ctx context.Context, key, value []byte, done func(partition int32, err error))
	// tick is called every produceTick: a sender that batches sends what it holds.
	tick(ctx context.Context)
	// flush sends what is held and waits for every answer.
	flush(ctx context.Context) error
	close()
}

type producer struct {
	snd     sender
	plan    producePlan
	rng     *rand.Rand
	tenants demo.Zipf
	users   demo.Zipf

	wg    sync.WaitGroup
	mu    sync.Mutex
	tally *tally
}

// run alternates active and quiet spells until the plan's duration has passed.
func (p *producer) run(ctx context.Context, progress io.Writer) error {
	end := time.Now().Add(p.plan.Produce)
	for time.Now().Before(end) {
		active := min(p.draw(p.plan.ActiveMin, p.plan.ActiveMax), time.Until(end))
		sent, err := p.spell(ctx, active)
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "chaos: producer: %d records in %v\n", sent, active.Round(time.Millisecond))
		quiet := min(p.draw(p.plan.QuietMin, p.plan.QuietMax), time.Until(end))
		if quiet <= 0 {
			break
		}
		fmt.Fprintf(progress, "chaos: producer: quiet for %v\n", quiet.Round(time.Millisecond))
		if err := sleep(ctx, quiet); err != nil {
			return err
		}
	}
	return nil
}

// spell produces at the plan's rate for d and returns how many records it sent.
func (p *producer) spell(ctx context.Context, d time.Duration) (int64, error) {
	start := time.Now()
	var sent int64
	t := time.NewTicker(produceTick)
	defer t.Stop()
	for {
		elapsed := time.Since(start)
		for due := int64(elapsed.Seconds() * float64(p.plan.Rate)); sent < due; sent++ {
			p.produce(ctx)
		}
		p.snd.tick(ctx)
		if elapsed >= d {
			return sent, nil
		}
		select {
		case <-ctx.Done():
			return sent, ctx.Err()
		case <-t.C:
		}
	}
}

// produce sends one record and counts it in the tally once the broker acknowledges it.
func (p *producer) produce(ctx context.Context) {
	e := demo.Event{TS: time.UnixMilli(time.Now().UnixMilli()).UTC(),
		Tenant: p.tenants.Draw(p.rng) + 1, User: p.users.Draw(p.rng) + 1}
	e.Fill(p.rng, 0.01)
	v := e.AppendJSON(make([]byte, 0, 224))
	bad := p.rng.Float64() < p.plan.Undecodable
	if bad {
		v[5] = ' ' // {"ts" "…: the first member has no colon
	}
	w := pipeline.WindowOf(e.TS, p.plan.Window)
	win := w.Start.Unix()
	key := []byte("t-" + strconv.Itoa(e.Tenant))
	p.wg.Add(1)
	p.snd.send(ctx, key, v, func(partition int32, err error) {
		defer p.wg.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case err != nil:
			p.tally.Failed++
		case bad:
			p.tally.Undecodable[partition]++
		default:
			p.tally.Cells[cell{Partition: partition, Window: win}]++
			if time.Now().After(w.End.Add(p.plan.Lateness)) {
				p.tally.DeliveredLate[cell{Partition: partition, Window: win}]++
			}
		}
	})
}

// draw is a uniform duration in [lo, hi].
func (p *producer) draw(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(p.rng.Int64N(int64(hi-lo)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
