// Package sinktest is the conformance suite of pipeline.Sink: the contract the runtime relies
// on, checked the same way for every sink against its real destination (a directory, a file,
// S3 and CloudWatch on moto). Each sink package runs it from a test:
//
//	sinktest.Run(t, sinktest.Subject{Open: …, Remote: true})
//
// What every sink must do (pipeline/sink.go): a Write returns nil only once the Output is
// durable; a Write the runtime repeats after it failed leaves the destination as one
// successful Write would (no datum, line or object twice); a repeated Write of an Output that
// went through overwrites where the destination can (deterministic keys); a Write gives up when
// its context ends instead of blocking; Close returns, and what was written stays durable.
// Sinks that also take dead letters (pipeline.DeadLetterSink) must write them idempotently too.
package sinktest

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// Subject is one sink implementation under the suite.
type Subject struct {
	// Open returns a sink over a fresh, empty destination of its own. Sinks that make calls
	// (Remote) must route every call through faults (see HTTP).
	Open func(t *testing.T, faults *Faults) Destination
	// Remote says the sink makes calls to its destination that can fail or hang, and that Open
	// routed them through the faults: the cases of failed and hanging calls apply.
	Remote bool
	// Appends says the destination cannot overwrite: a datum or line written twice counts
	// twice (CloudWatch metrics, EMF lines). A Write repeated after it succeeded then adds the
	// same again, so only the repeat after a failure is checked; replays after a crash are made
	// exactly-once above the sink.
	Appends bool
}

// Destination is an opened sink and a reader of what its destination holds.
type Destination struct {
	Sink pipeline.Sink
	// Durable reads back everything the destination holds, as name → content (object keys
	// and their bytes, metric series and their statistics, lines and how often each was
	// written), given the Output the suite wrote: two states are equal when the maps are.
	Durable func(t *testing.T, out *pipeline.Output) map[string]string
}

// Output is what the suite writes: one window of a worker with points for the metric sinks
// and two reports for the object sinks, its window a few minutes before now (CloudWatch
// refuses datums from the far past).
func Output(now time.Time) *pipeline.Output {
	start := now.UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	out := &pipeline.Output{Window: pipeline.Window{Start: start, End: start.Add(time.Minute)}, Owner: "events-0-1a2b3c"}
	for i := range 24 {
		out.Points = append(out.Points, pipeline.Point{Name: fmt.Sprintf("Conformance%02d", i), Time: start,
			Unit: pipeline.UnitCount, Value: float64(i + 1), Dimensions: []pipeline.Dimension{{Name: "Stream", Value: "events"}}})
	}
	out.Reports = []pipeline.Report{
		{Kind: "summary", Name: "conformance", Body: map[string]any{"records": 1200, "partitions": []string{"0", "1"}}},
		{Kind: "report", Name: "by-tenant", Body: map[string]any{"top": []string{"t-1", "t-2"}}},
		{Kind: "report", Name: "by-tenant", Body: map[string]any{"top": []string{"t-3"}}},
	}
	return out
}

// deadLetters are what the suite writes to sinks that take dead letters.
func deadLetters(now time.Time) []pipeline.DeadLetter {
	p := pipeline.Partition{Stream: "events", ID: "3"}
	return []pipeline.DeadLetter{
		{Partition: p, Position: pipeline.Position{Offset: 17}, Time: now.UTC().Truncate(time.Second), Reason: "decode", Detail: "bad json", Value: []byte(`{"ts": not json`)},
		{Partition: p, Position: pipeline.Position{Offset: 42}, Time: now.UTC().Truncate(time.Second), Reason: "event_time", Detail: "no time", Value: []byte(`{}`)},
	}
}

// Run runs the suite, each case in its own t.Run with a destination of its own.
func Run(t *testing.T, s Subject) {
	now := time.Now()
	out := Output(now)
	open := func(t *testing.T) (Destination, *Faults) {
		f := &Faults{}
		return s.Open(t, f), f
	}
	cases := []struct {
		name string
		skip string // why the case does not apply, if it does not
		run  func(t *testing.T)
	}{
		{name: "a Write is durable when it returns", run: func(t *testing.T) {
			d, _ := open(t)
			mustWrite(t, d.Sink, out)
			if len(d.Durable(t, out)) == 0 {
				t.Fatal("Write returned nil and the destination holds nothing")
			}
		}},
		{name: "a Write repeated after it succeeded overwrites", skip: when(s.Appends, "the destination appends"), run: func(t *testing.T) {
			d, _ := open(t)
			mustWrite(t, d.Sink, out)
			once := d.Durable(t, out)
			mustWrite(t, d.Sink, out)
			if twice := d.Durable(t, out); !maps.Equal(once, twice) {
				t.Errorf("a second Write changed the destination:\nonce:  %v\ntwice: %v", once, twice)
			}
		}},
		{name: "a Write retried after it failed part way writes nothing twice", skip: when(!s.Remote, "no calls to fail"), run: func(t *testing.T) {
			ref, _ := open(t)
			mustWrite(t, ref.Sink, out)
			want := ref.Durable(t, out)
			d, faults := open(t)
			faults.failAfter(1, Refuse)
			if err := d.Sink.Write(context.Background(), out); err == nil {
				t.Fatal("Write returned nil though its destination refused calls")
			}
			if faults.passed() == 0 {
				t.Fatal("no call reached the destination before the failures: the case proves nothing")
			}
			faults.heal()
			mustWrite(t, d.Sink, out)
			if got := d.Durable(t, out); !maps.Equal(got, want) {
				t.Errorf("after a failed Write and its retry the destination holds\n%v\nwhere one Write leaves\n%v", got, want)
			}
		}},
		{name: "a Write with an ended context returns at once", run: func(t *testing.T) {
			d, _ := open(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			start := time.Now()
			_ = d.Sink.Write(ctx, out) // nil (durable anyway) or an error: both keep the contract
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Write with a cancelled context took %v", took)
			}
		}},
		{name: "a Write gives up when its context ends", skip: when(!s.Remote, "no calls that can hang"), run: func(t *testing.T) {
			d, faults := open(t)
			faults.failAfter(0, Hang)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := d.Sink.Write(ctx, out)
			took := time.Since(start)
			faults.heal()
			if err == nil {
				t.Error("Write returned nil while its destination never answered")
			}
			if took > 5*time.Second {
				t.Errorf("Write returned %v after its 300ms context ended", took)
			}
		}},
		{name: "Close returns and what was written stays durable", run: func(t *testing.T) {
			d, _ := open(t)
			mustWrite(t, d.Sink, out)
			before := d.Durable(t, out)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Sink.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if after := d.Durable(t, out); !maps.Equal(before, after) {
				t.Errorf("Close changed what was durable:\nbefore: %v\nafter:  %v", before, after)
			}
		}},
		{name: "dead letters written again overwrite", run: func(t *testing.T) {
			d, _ := open(t)
			dl, ok := d.Sink.(pipeline.DeadLetterSink)
			if !ok {
				t.Skip("not a dead-letter sink")
			}
			letters := deadLetters(now)
			for range 2 {
				if err := dl.WriteDeadLetters(context.Background(), letters); err != nil {
					t.Fatal(err)
				}
			}
			got := d.Durable(t, &pipeline.Output{})
			if len(got) != 1 {
				t.Errorf("two writes of one partition's dead letters left %d objects, want 1: %v", len(got), got)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			c.run(t)
		})
	}
}

func when(cond bool, why string) string {
	if cond {
		return why
	}
	return ""
}

func mustWrite(t *testing.T, s pipeline.Sink, out *pipeline.Output) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Write(ctx, out); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// Fault is what becomes of one call to a destination.
type Fault int

// The faults.
const (
	Pass   Fault = iota // the call goes through
	Refuse              // the call fails with an error the sink must not retry
	Hang                // the call gets no answer until its context ends
)

// Faults decides the fate of a destination's calls. The suite sets it; the subject's
// destination asks it once per call (Next), typically from an HTTP client (HTTP).
type Faults struct {
	mu     sync.Mutex
	pass   int // calls still to let through before failing; < 0: no failure planned
	how    Fault
	passes int
}

// Next returns the fate of the next call.
func (f *Faults) Next() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.how == Pass || f.pass > 0 {
		f.pass--
		f.passes++
		return Pass
	}
	return f.how
}

func (f *Faults) failAfter(n int, how Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pass, f.how, f.passes = n, how, 0
}

func (f *Faults) heal() { f.failAfter(0, Pass) }

func (f *Faults) passed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passes
}

// Doer is an HTTP client as the AWS SDK takes it (aws.HTTPClient).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// HTTP returns an HTTP client that puts faults between the SDK and next: a refused call gets
// refusal's response (a permanent error in the service's own format), a hanging one no answer
// until its request's context ends.
func HTTP(next Doer, faults *Faults, refusal func(*http.Request) *http.Response) Doer {
	return doerFunc(func(req *http.Request) (*http.Response, error) {
		switch faults.Next() {
		case Refuse:
			if req.Body != nil {
				req.Body.Close()
			}
			return refusal(req), nil
		case Hang:
			<-req.Context().Done()
			return nil, req.Context().Err()
		}
		return next.Do(req)
	})
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// Files reads a directory destination: every file under dir by its slash-separated path
// relative to dir, and its bytes. Temporary files of an unfinished write (".tmp-…") are left
// out: they are not durable objects.
func Files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Lines reads an append-only file destination: each distinct line of path and how many times
// it was written.
func Lines(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			counts[line]++
		}
	}
	out := make(map[string]string, len(counts))
	for line, n := range counts {
		out[line] = strconv.Itoa(n)
	}
	return out
}
