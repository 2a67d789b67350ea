package main

import (
	"errors"
	"flag"
	"fmt"
	"time"
)

// options are a run's parameters. The defaults are `make chaos`: 10 trials of about 220,000
// records (150 s of active spells at 2,000 records/s and quiet spells between them) with an
// event every 8 to 20 s, about 3 minutes a trial on 2 cores. shortOptions is the trial
// `make test` runs.
type options struct {
	Trials int    `json:"trials"`
	Seed   uint64 `json:"seed"` // trial i (from 0) draws everything from Seed+i

	// Source is what the fleet reads: "kafka" (a topic on a kfake broker) or "kinesis" (a
	// stream on kinesalite, the lease table on moto).
	Source     string `json:"source"`
	Partitions int    `json:"partitions"` // partitions of the topic, or shards of the stream
	Workers    int    `json:"workers"`    // the fleet; one more comes and goes

	traffic

	First  time.Duration `json:"first"` // the first event, from the producer's start
	MinGap time.Duration `json:"min_gap"`
	MaxGap time.Duration `json:"max_gap"`

	// The workers' settings that shape a trial; everything else is the worker's default.
	Window           time.Duration `json:"window"`
	IdleTimeout      time.Duration `json:"idle_timeout"`
	SessionTimeout   time.Duration `json:"session_timeout"`
	RebalanceTimeout time.Duration `json:"rebalance_timeout"`
	RevokeTimeout    time.Duration `json:"revoke_timeout"`
	RevokeCommit     time.Duration `json:"revoke_commit_timeout"`
	ShutdownTimeout  time.Duration `json:"shutdown_timeout"`
	CommitInterval   time.Duration `json:"commit_interval,omitempty"` // 0: the worker's default
	// LeaseDuration is the Kinesis workers' source.kinesis.lease_duration: how long a killed
	// worker's shards stall before another worker takes them (renewals every third of it).
	LeaseDuration time.Duration `json:"lease_duration,omitempty"`
	// Splits is how many times a Kinesis trial splits a shard while records flow (kinesalite
	// reshards as Kinesis does), evenly spaced over the producer's run.
	Splits int `json:"splits,omitempty"`
	// Merges is how many times a Kinesis trial merges two adjacent open shards while records
	// flow, evenly spaced over the producer's run, between the splits.
	Merges int `json:"merges,omitempty"`
	// Freezes is how many workers a trial SIGSTOPs and later SIGCONTs (freeze.go),
	// alternately for a short time (below IdleTimeout) and a long one (past the session or
	// the lease), at seeded times.
	Freezes int `json:"freezes"`

	// DrainTimeout bounds the wait, after the producer stopped, for the group to commit every
	// record.
	DrainTimeout time.Duration `json:"drain_timeout"`

	// MaxLost and MaxDuplicated fail a trial above them; -1 only reports. Lost includes records
	// the producer broke on purpose that no dead letter accounts for.
	MaxLost       int64 `json:"max_lost"`
	MaxDuplicated int64 `json:"max_duplicated"`

	// Output is where the fleet writes: "dir" (one directory for every worker's file sink) or
	// "s3" (one bucket on a moto server for every worker's S3 sink).
	Output string `json:"output"`

	Weir string `json:"-"` // the worker binary; "" builds ./cmd/worker
	Work string `json:"-"` // trial directories
	Keep bool   `json:"-"` // keep trial directories that passed
	Out  string `json:"-"` // summary.json and summary.md
}

func defaultOptions() options {
	return options{
		Trials: 10, Seed: 1, Source: "kafka", Partitions: 8, Workers: 3,
		traffic: traffic{Rate: 2000, Produce: 150 * time.Second,
			ActiveMin: 5 * time.Second, ActiveMax: 20 * time.Second, QuietMin: time.Second, QuietMax: 8 * time.Second,
			Undecodable: 0.001},
		First: 10 * time.Second, MinGap: 8 * time.Second, MaxGap: 20 * time.Second,
		Window: 10 * time.Second, IdleTimeout: 5 * time.Second,
		// kfake drops a live member that waits in JoinGroup longer than its session timeout
		// (shared/design/TEST-SERVERS.md): every member must rejoin within it, so the revoke
		// (drain + commit) must fit in well under it.
		SessionTimeout: 15 * time.Second, RebalanceTimeout: 30 * time.Second,
		RevokeTimeout: 6 * time.Second, RevokeCommit: 3 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		// Short enough that a killed worker's shards move within a gap between events, long
		// enough for renewals every 2 s on a loaded machine.
		LeaseDuration: 6 * time.Second,
		DrainTimeout:  3 * time.Minute,
		Freezes:       4,
		MaxLost:       0, MaxDuplicated: -1,
		Output: "dir", Work: "", Out: "out/chaos",
	}
}

// shortOptions is the one trial of `make test`: seven events in 45 s of traffic.
func shortOptions() options {
	o := defaultOptions()
	o.Trials, o.Rate, o.Produce = 1, 500, 45*time.Second
	o.ActiveMin, o.ActiveMax, o.QuietMin, o.QuietMax = 4*time.Second, 12*time.Second, time.Second, 5*time.Second
	o.Undecodable = 0.002
	o.First, o.MinGap, o.MaxGap = 5*time.Second, 5*time.Second, 7*time.Second
	o.Window, o.IdleTimeout = 5*time.Second, 3*time.Second
	o.Freezes = 2 // one short, one long
	return o
}

func (o *options) register(fl *flag.FlagSet) {
	fl.IntVar(&o.Trials, "trials", o.Trials, "trials to run")
	fl.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the first trial; trial i uses seed+i (replay one trial: -seed S -trials 1)")
	fl.StringVar(&o.Source, "source", o.Source, "what the fleet reads: kafka (a topic on kfake) or kinesis (a stream on kinesalite, the lease table on moto)")
	fl.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of the topic, or shards of the stream")
	fl.IntVar(&o.Workers, "workers", o.Workers, "workers in the fleet (one more comes and goes)")
	fl.IntVar(&o.Rate, "rate", o.Rate, "records per second while the producer is active")
	fl.DurationVar(&o.Produce, "produce", o.Produce, "how long the producer runs")
	fl.DurationVar(&o.ActiveMin, "active-min", o.ActiveMin, "shortest active spell of the producer")
	fl.DurationVar(&o.ActiveMax, "active-max", o.ActiveMax, "longest active spell")
	fl.DurationVar(&o.QuietMin, "quiet-min", o.QuietMin, "shortest quiet spell")
	fl.DurationVar(&o.QuietMax, "quiet-max", o.QuietMax, "longest quiet spell (above -idle-timeout, windows also close by the wall clock)")
	fl.Float64Var(&o.Undecodable, "undecodable", o.Undecodable, "share of records broken on purpose (they must come out as dead letters)")
	fl.DurationVar(&o.First, "first", o.First, "the first event, from the producer's start")
	fl.DurationVar(&o.MinGap, "gap-min", o.MinGap, "shortest gap between events")
	fl.DurationVar(&o.MaxGap, "gap-max", o.MaxGap, "longest gap between events")
	fl.DurationVar(&o.Window, "window", o.Window, "the workers' window.period")
	fl.DurationVar(&o.IdleTimeout, "idle-timeout", o.IdleTimeout, "the workers' window.idle_timeout")
	fl.DurationVar(&o.SessionTimeout, "session-timeout", o.SessionTimeout, "the workers' kafka.session_timeout; a killed member still listed this long after the kill is evicted")
	fl.DurationVar(&o.RebalanceTimeout, "rebalance-timeout", o.RebalanceTimeout, "the workers' kafka.rebalance_timeout")
	fl.DurationVar(&o.RevokeTimeout, "revoke-timeout", o.RevokeTimeout, "the workers' kafka.revoke_timeout")
	fl.DurationVar(&o.RevokeCommit, "revoke-commit-timeout", o.RevokeCommit, "the workers' kafka.revoke_commit_timeout")
	fl.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout, "the workers' shutdown_timeout; a SIGTERMed worker still running 10 s after it is SIGKILLed")
	fl.DurationVar(&o.CommitInterval, "commit-interval", o.CommitInterval, "the workers' kafka.commit_interval or kinesis.checkpoint_interval (0: the worker's default); a longer one replays more after a kill")
	fl.IntVar(&o.Merges, "merges", o.Merges, "Kinesis: two adjacent open shards (seeded) merged while records flow, evenly spaced over -produce, between the splits")
	fl.IntVar(&o.Splits, "splits", o.Splits, "Kinesis: shards split while records flow, evenly spaced over -produce (a seeded open shard each, at the middle of its hash keys)")
	fl.IntVar(&o.Freezes, "freezes", o.Freezes, "workers frozen (SIGSTOP, later SIGCONT) at seeded times, alternately short (below -idle-timeout) and long (past the session or lease); 0: none")
	fl.DurationVar(&o.LeaseDuration, "lease-duration", o.LeaseDuration, "the Kinesis workers' source.kinesis.lease_duration: how long a killed worker's shards wait for another owner")
	fl.DurationVar(&o.DrainTimeout, "drain-timeout", o.DrainTimeout, "how long to wait, after the producer stopped, for the group to commit every record")
	fl.Int64Var(&o.MaxLost, "max-lost", o.MaxLost, "fail a trial that lost more records (-1: report only)")
	fl.Int64Var(&o.MaxDuplicated, "max-duplicated", o.MaxDuplicated, "fail a trial that duplicated more records (-1: report only)")
	fl.StringVar(&o.Output, "output", o.Output, "where the fleet writes: dir (the file sink, one directory) or s3 (the S3 sink, one bucket on a moto server)")
	fl.StringVar(&o.Weir, "weir", o.Weir, "the worker binary (default: go build ./cmd/worker into the work directory)")
	fl.StringVar(&o.Work, "work", o.Work, "directory for the trials' files (default: a temporary directory)")
	fl.BoolVar(&o.Keep, "keep", o.Keep, "keep the files of trials that passed (failed ones are always kept)")
	fl.StringVar(&o.Out, "out", o.Out, "directory for summary.json and summary.md (\"\" writes none)")
}

// validate names every bad flag.
func (o *options) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("-%s: "+format, append([]any{name}, args...)...))
	}
	if o.Trials < 1 {
		bad("trials", "%d is below 1", o.Trials)
	}
	if o.Source != "kafka" && o.Source != "kinesis" {
		bad("source", "%q is not one of kafka, kinesis", o.Source)
	}
	if o.Partitions < 1 {
		bad("partitions", "%d is below 1", o.Partitions)
	}
	if o.Workers < 2 {
		bad("workers", "%d is below 2: a fleet of one cannot hand partitions over", o.Workers)
	}
	if o.Rate < 1 {
		bad("rate", "%d is below 1", o.Rate)
	}
	if o.ActiveMin <= 0 || o.ActiveMax < o.ActiveMin {
		bad("active-min", "%v..%v is not a positive range", o.ActiveMin, o.ActiveMax)
	}
	if o.QuietMin < 0 || o.QuietMax < o.QuietMin {
		bad("quiet-min", "%v..%v is not a range", o.QuietMin, o.QuietMax)
	}
	if o.Undecodable < 0 || o.Undecodable >= 1 {
		bad("undecodable", "%v is not in [0, 1)", o.Undecodable)
	}
	if o.MinGap <= 0 || o.MaxGap < o.MinGap {
		bad("gap-min", "%v..%v is not a positive range", o.MinGap, o.MaxGap)
	}
	if o.First <= 0 || o.First >= o.Produce {
		bad("first", "%v is not within -produce (%v)", o.First, o.Produce)
	}
	if o.Window < time.Second {
		bad("window", "%v is below 1s", o.Window)
	}
	if o.Source == "kafka" && o.RevokeTimeout+o.RevokeCommit >= o.SessionTimeout {
		// See defaultOptions: a revoke longer than the session costs the other members
		// their membership on kfake.
		bad("revoke-timeout", "revoke %v + commit %v must stay below -session-timeout (%v) on kfake",
			o.RevokeTimeout, o.RevokeCommit, o.SessionTimeout)
	}
	if o.Output != "dir" && o.Output != "s3" {
		bad("output", "%q is not one of dir, s3", o.Output)
	}
	if o.Source == "kinesis" && o.LeaseDuration < time.Second {
		bad("lease-duration", "%v is below 1s (the worker refuses it)", o.LeaseDuration)
	}
	if o.Splits < 0 || (o.Splits > 0 && o.Source != "kinesis") {
		bad("splits", "%d: a count, and only with -source kinesis", o.Splits)
	}
	if o.Merges < 0 || (o.Merges > 0 && o.Source != "kinesis") {
		bad("merges", "%d: a count, and only with -source kinesis", o.Merges)
	}
	if o.Freezes < 0 {
		bad("freezes", "%d is negative", o.Freezes)
	}
	if o.CommitInterval < 0 {
		bad("commit-interval", "%v is negative", o.CommitInterval)
	}
	if o.DrainTimeout <= 0 {
		bad("drain-timeout", "%v is not positive", o.DrainTimeout)
	}
	if o.MaxLost < -1 || o.MaxDuplicated < -1 {
		errs = append(errs, errors.New("-max-lost and -max-duplicated take a count or -1"))
	}
	return errors.Join(errs...)
}

// termGrace is how long past its shutdown_timeout a SIGTERMed worker may take before the
// harness SIGKILLs it (and says so).
const termGrace = 10 * time.Second
