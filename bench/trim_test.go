package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The trimmer deletes records below the group's commits and leaves uncommitted partitions whole.
func TestTrimBehindDeletesBelowTheCommits(t *testing.T) {
	addrs, cl, ctx := liveTopic(t)
	for i := range 50 {
		for p := range int32(2) {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("x")}).FirstErr(); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
	}
	adm := kadm.NewClient(cl)
	var at kadm.Offsets
	at.Add(kadm.Offset{Topic: "live", Partition: 0, At: 30, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "g", at); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}

	trimCtx, stop := context.WithCancel(ctx)
	type res struct {
		failed int
		err    error
	}
	done := make(chan res, 1)
	go func() {
		failed, err := trimBehind(trimCtx, addrs, "live", "g", 10*time.Millisecond)
		done <- res{failed, err}
	}()
	var start kadm.ListedOffsets
	for {
		var err error
		if start, err = adm.ListStartOffsets(ctx, "live"); err != nil {
			t.Fatal(err)
		}
		if o, _ := start.Lookup("live", 0); o.Offset == 30 || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	r := <-done
	if r.err != nil || r.failed != 0 {
		t.Fatalf("trimBehind: %d failed trims, %v", r.failed, r.err)
	}
	p0, _ := start.Lookup("live", 0)
	p1, _ := start.Lookup("live", 1)
	if p0.Offset != 30 || p1.Offset != 0 {
		t.Errorf("start offsets: partition 0 at %d, 1 at %d; want 30 (the commit) and 0 (no commit)", p0.Offset, p1.Offset)
	}
}
