package main

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	for _, o := range []options{defaultOptions(), shortOptions()} {
		if err := o.validate(); err != nil {
			t.Errorf("the built-in options are invalid: %v", err)
		}
	}
	o := defaultOptions()
	o.Workers, o.RevokeTimeout, o.First, o.MaxDuplicated = 1, 20*time.Second, 0, -2
	err := o.validate()
	if err == nil {
		t.Fatal("bad options validated")
	}
	for _, flag := range []string{"-workers", "-revoke-timeout", "-first", "-max-duplicated"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("the error does not name %s: %v", flag, err)
		}
	}

	o = defaultOptions()
	o.Source = "pulsar"
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "-source") {
		t.Errorf("-source pulsar: %v", err)
	}
	// A Kinesis fleet has no consumer group: the Kafka timeouts' check does not apply, the
	// lease duration's does.
	o = defaultOptions()
	o.Source, o.RevokeTimeout, o.LeaseDuration = "kinesis", 20*time.Second, 500*time.Millisecond
	err = o.validate()
	if err == nil || !strings.Contains(err.Error(), "-lease-duration") || strings.Contains(err.Error(), "-revoke-timeout") {
		t.Errorf("kinesis with a 500ms lease and a long revoke: %v", err)
	}
}

// The replay command keeps every flag but the run's seed, trial count and output directory.
func TestReplayCommand(t *testing.T) {
	got := replayCommand([]string{"-trials", "10", "-seed=3", "-rate", "500", "-out", "x", "-keep"})
	if want := "go run ./chaos -trials 1 -seed %d -rate 500 -keep"; got != want {
		t.Errorf("replay command %q, want %q", got, want)
	}
}
