# weir — make targets. `make run` runs the worker on its embedded default (no Kafka, no AWS);
# `make test` runs the whole test suite, as CI does.

GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         ?= bin/weir

.PHONY: all build run test test-short bench bench-full bench-micro chaos lint fuzz clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/worker

# The embedded demo: an in-process Kafka broker and realistic traffic; reports under ./out,
# CloudWatch metrics as EMF lines in ./out/metrics.emf (the worker's default is stdout, which is
# what ECS ships to CloudWatch), Prometheus on :8080. Ctrl-C drains and
# exits 0. Windows are 10s here (the worker's default is 60s) so the first files appear quickly;
# WEIR_WINDOW_PERIOD=60s make run for the real thing.
# Each run starts a new embedded broker, so what an earlier demo run left under ./out describes a
# broker that no longer exists: its first window would be a partial one scored against the old
# state, and its detectors would have learned the demo's scripted anomalies. The demo's own
# output is therefore cleared first, and only when the run is the demo (no ARGS, no other
# source kind, the default output directory); a configured run's state is never touched.
WEIR_WINDOW_PERIOD ?= 10s
WEIR_SINKS_CLOUDWATCH_EMF_PATH ?= out/metrics.emf
DEMO_RUN = $(and $(if $(ARGS),,y),$(if $(filter-out demo,$(WEIR_SOURCE_KIND)),,y),$(if $(WEIR_SINKS_FILE_DIR),,y))
run:
	$(if $(DEMO_RUN),rm -rf out/kind=* out/metrics.emf)
	WEIR_WINDOW_PERIOD=$(WEIR_WINDOW_PERIOD) WEIR_SINKS_CLOUDWATCH_EMF_PATH=$(WEIR_SINKS_CLOUDWATCH_EMF_PATH) \
	  $(GO) run ./cmd/worker $(ARGS)

# The whole suite, with the race detector; then, without it, every package that has tests the
# race detector changes (a `//go:build !race` test file: allocation and heap checks that skip
# themselves under -race, accuracy suites that shrink there), so those run too, at full size.
# Needs moto_server and cfn-lint on PATH (see .ci/run).
NORACE_PKGS = $(sort $(dir $(shell grep -rl --include='*_test.go' '^//go:build !race' .)))
test:
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 -timeout 10m $(NORACE_PKGS)

test-short:
	$(GO) test -short -count=1 ./...

# The benchmark harness, short version (~2.5 min): every scenario next to the franz-go baselines
# measured in the same run, in rotated order, per CPU-second and per second; results in
# out/bench (see bench/README.md).
bench:
	$(GO) run ./bench -short -out out/bench

# The full run (~6 min) that bench/README.md reports; writes bench/results.
bench-full:
	$(GO) run ./bench

# The chaos harness (chaos/README.md): a fleet of worker processes killed, stopped and restarted
# while records flow, every record counted per (partition, window); 10 trials, ~3 min each on
# 2 cores; summary in out/chaos. A short trial of each source runs in `make test`. Replay one
# trial: make chaos CHAOS_ARGS="-trials 1 -seed 7". A Kinesis fleet (kinesalite, leases on
# moto) with a shard split: make chaos CHAOS_ARGS="-source kinesis -splits 1"
CHAOS_ARGS ?=
chaos:
	$(GO) run ./chaos -out out/chaos $(CHAOS_ARGS)

# Go micro-benchmarks of the hot paths.
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./pipeline/... ./sources/...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin out
