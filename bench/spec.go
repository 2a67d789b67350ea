package main

import "time"

// The kinds of measurement a child process runs.
const (
	kindPoll     = "poll"            // bare franz-go poll-and-count
	kindDecode   = "decode"          // bare poll + goccy/go-json decode + per-tenant count
	kindParallel = "decode-parallel" // the same decode and count, partitions spread over GOMAXPROCS goroutines
	kindPipeline = "pipeline"        // weir, assembled by the worker library as cmd/worker runs it
)

// spec tells a child process what to measure. The orchestrator passes it as JSON (-spec), so a
// child is reproducible by hand: go run ./bench -role child -spec '{...}'.
type spec struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Brokers []string `json:"brokers"`
	Topic   string   `json:"topic"`
	Format  string   `json:"format"`
	// Records is how many records the topic holds (or the live producer will send): the child
	// stops once it has processed them all.
	Records int64 `json:"records"`
	// Rules are the contributor rule files (pipeline only).
	Rules []string `json:"rules,omitempty"`
	// BudgetBytes is the in-flight budget: the worker's default without a memory limit
	// (pipeline.DefaultBudgetBytes).
	BudgetBytes int64 `json:"budget_bytes,omitempty"`
	// MemoryLimit, if set, is the worker's memory.limit_bytes: the child applies it as
	// cmd/worker does (worker.ApplyMemoryLimit), so the Go runtime's soft limit is in force as
	// in a container of that size.
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// Window is the tumbling window period; TimeField the event-time field ("" = broker time).
	Window    time.Duration `json:"window,omitempty"`
	TimeField string        `json:"time_field,omitempty"`
	// IdleTimeout and Lateness override the worker's window.idle_timeout and
	// window.allowed_lateness (the defaults when zero).
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	Lateness    time.Duration `json:"lateness,omitempty"`
	// Messy says the records are the live-messy scenario's: dead letters are expected (a run
	// with any fails otherwise), and the child reports what the summary reports counted.
	Messy bool `json:"messy,omitempty"`
	// StallAfter, StallAt and StallFor make the file sink block for StallFor (the stall
	// scenario): from its first write once the drain has run for StallAfter, or has processed
	// StallAt records if that comes first (a slow machine still leaves a backlog to recover on).
	StallAfter time.Duration `json:"stall_after,omitempty"`
	StallAt    int64         `json:"stall_at,omitempty"`
	StallFor   time.Duration `json:"stall_for,omitempty"`
	// StoreLatency delays every partial write (-store-latency, -store-jitter, -store-tail): a
	// store as slow as S3 in the standard, msgpack and keys runs.
	StoreLatency storeLatency `json:"store_latency,omitzero"`
	// Group is the worker's consumer group; empty means a fresh one named after the run. The
	// latency scenario names it, to trim the live topic behind the worker's commits.
	Group string `json:"group,omitempty"`
	// Live says the records arrive while the child runs (the latency and live-messy
	// scenarios): the child reports "ready" on stdout once it owns every partition.
	Live bool `json:"live,omitempty"`
	// SampleEvery, in a live run, times one record in this many (by offset) from broker
	// append to window state (the latency probe); 0 times none.
	SampleEvery int64 `json:"sample_every,omitempty"`
	// Profile, if set, is a directory for a CPU profile of the drain and a heap profile at
	// its end (<name>.<rep>.cpu.pprof, <name>.<rep>.heap.pprof), for finding where the time
	// goes; `go tool pprof` merges the repetitions' profiles when given them all. The stall
	// run adds heap profiles at the stall's start and at the sink's return
	// (<name>.<rep>.stallbegin.heap.pprof, .stallend.heap.pprof), each after a forced
	// collection (profile.heapAt).
	Profile string `json:"profile,omitempty"`
	// Rep is the repetition the run belongs to (it names the profiles).
	Rep int `json:"rep,omitempty"`
	// Trace, with Profile, also writes an execution trace of the drain (<name>.trace): which
	// goroutines ran when, and where the cores sat idle. It slows the run by ~10%.
	Trace bool `json:"trace,omitempty"`
	// Dir holds the sinks' files; the orchestrator removes it afterwards.
	Dir string `json:"dir,omitempty"`

	// before: the orchestrator runs this spec with the -before binary (an earlier build).
	before bool
}

// result is what a child measured, written as JSON on its stdout.
type result struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Format string `json:"format,omitempty"`
	// Rep is the repetition this run belongs to (set by the orchestrator): ratios pair runs of
	// the same repetition.
	Rep int `json:"rep"`
	// Records and Bytes processed (payload + key bytes).
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// Seconds from the start of fetching to the last record processed: the drain time.
	Seconds float64 `json:"seconds"`
	// DurableSeconds (pipeline) from the start of fetching to every window durable in every sink
	// (the runtime closed, flushing the windows still open); CommittedSeconds to the final
	// offset commit.
	DurableSeconds   float64 `json:"durable_seconds,omitempty"`
	CommittedSeconds float64 `json:"committed_seconds,omitempty"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	RecordsPerSec    float64 `json:"records_per_sec"`
	RecordsPerCPUSec float64 `json:"records_per_cpu_sec"`
	MBPerSec         float64 `json:"mb_per_sec"`
	// PeakRSSBytes is the child's VmHWM: the worker alone, not the broker.
	PeakRSSBytes      int64 `json:"peak_rss_bytes"`
	InFlightPeakBytes int64 `json:"inflight_peak_bytes,omitempty"`
	BudgetBytes       int64 `json:"budget_bytes,omitempty"`
	Partials          int64 `json:"partials_written,omitempty"`
	// Distinct is the number of distinct (tenant, user) contributors in the data (keys).
	Distinct int64 `json:"distinct_contributors,omitempty"`
	// Counters are the worker's pause and runner-time counters at the end of the run (pipeline
	// only, see counters.go): weir_kafka_pauses_total by reason as "pauses_<reason>",
	// weir_stage_seconds_total of the runners by state as "runner_<state>_seconds".
	Counters map[string]float64 `json:"counters,omitempty"`
	Series   []sample           `json:"series,omitempty"`
	Stall    *stallResult       `json:"stall,omitempty"`
	Latency  *latencyResult     `json:"latency,omitempty"`
	Messy    *messyResult       `json:"messy,omitempty"`
}

// sample is one point of a run's time series, every sampleEvery.
type sample struct {
	T        float64 `json:"t"` // seconds since fetching began
	Records  int64   `json:"records"`
	RSS      int64   `json:"rss"`
	InFlight int64   `json:"inflight,omitempty"`
	// Pooled is what the source's free lists hold idle (pipeline runs only): live heap the
	// budget does not charge.
	Pooled int64 `json:"pooled,omitempty"`
	// Heap is the Go runtime's view of the heap (pipeline runs only).
	Heap *heapStat `json:"heap,omitempty"`
}

// How often the series is sampled.
const sampleEvery = 100 * time.Millisecond
