package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// The group starts its parts in order and stops them in the reverse order, each only once the
// one after it has stopped: a part's stop runs after its goroutine was told to stop and before
// the part counts as stopped, and the errors of the stops and of the ends-part are returned.
func TestGroupStopsInReverseOrder(t *testing.T) {
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	g := newGroup(slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.add(part{name: "a", start: func() { note("start a") }, stop: func(context.Context) error { note("stop a"); return errors.New("a failed") }})
	served, bRuns := make(chan struct{}), make(chan struct{})
	g.add(part{name: "b", run: func(ctx context.Context) error {
		note("run b")
		close(bRuns)
		<-served // like an HTTP server: returns only once its stop was called
		note("b returned")
		return nil
	}, stop: func(context.Context) error { note("stop b"); close(served); return nil }})
	g.add(part{name: "c", ends: true, run: func(ctx context.Context) error {
		<-ctx.Done()
		note("c returned")
		return errors.New("c failed")
	}})
	g.start()
	<-bRuns
	var stopped []string
	err := g.stop(context.Background(), func(name string) { stopped = append(stopped, name) })
	if want := []string{"c", "b", "a"}; !slices.Equal(stopped, want) {
		t.Errorf("stopped %v, want %v", stopped, want)
	}
	want := []string{"start a", "run b", "c returned", "stop b", "b returned", "stop a"}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if err == nil || err.Error() != "c failed\na failed" {
		t.Errorf("stop returned %v, want c's and a's errors", err)
	}
}

// A part marked ends that returns by itself (the source failing) is reported on ended, so Run
// begins the shutdown; another part returning by itself only finishes.
func TestGroupEndsWhenTheSourceFails(t *testing.T) {
	g := newGroup(slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.add(part{name: "summary off", run: func(context.Context) error { return nil }})
	g.add(part{name: "generator", run: func(context.Context) error { return errors.New("flush failed") }})
	g.add(part{name: "source", ends: true, run: func(context.Context) error { return errors.New("client closed") }})
	g.start()
	select {
	case err := <-g.ended:
		if err == nil || err.Error() != "client closed" {
			t.Errorf("ended with %v, want the source's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the source's failure did not end the group")
	}
	if err := g.stop(context.Background(), nil); err == nil || err.Error() != "client closed" {
		t.Errorf("stop returned %v, want only the source's error", err)
	}
}

// An ends-part stopped while it was still starting returns the cancellation it was handed
// (a Kinesis source describing its stream when the SIGTERM came): the shutdown asked for, not
// an error of the worker's. A real error returned after the stop, and a cancellation the part
// met by itself before any stop, are still the worker's.
func TestGroupStoppedWhileStartingIsNoError(t *testing.T) {
	for _, c := range []struct {
		name    string
		run     func(ctx context.Context) error
		wantErr string
	}{
		{"cancelled while starting", func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("describing the stream: %w", ctx.Err())
		}, ""},
		{"a real error at the stop", func(ctx context.Context) error {
			<-ctx.Done()
			return errors.New("commit refused")
		}, "commit refused"},
		{"a cancellation of its own", func(context.Context) error {
			return fmt.Errorf("its client: %w", context.Canceled)
		}, "its client: context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGroup(slog.New(slog.NewTextHandler(io.Discard, nil)))
			g.add(part{name: "source", ends: true, run: c.run})
			g.start()
			if c.wantErr != "" && c.name == "a cancellation of its own" {
				<-g.ended
			}
			err := g.stop(context.Background(), nil)
			if got := fmt.Sprint(err); (c.wantErr == "" && err != nil) || (c.wantErr != "" && got != c.wantErr) {
				t.Errorf("stop returned %v, want %q", err, c.wantErr)
			}
		})
	}
}
