package worker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

// checkConfig is what `worker -check` does: load, then Check.
func checkConfig(t *testing.T, path string, environ []string) error {
	t.Helper()
	cfg, err := LoadConfig(path, environ)
	if err != nil {
		return err
	}
	return Check(context.Background(), cfg, testDeps())
}

func TestGoodConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no good configs")
	}
	for _, f := range files {
		if err := checkConfig(t, f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The README's examples load; local-aws.yaml only with the endpoint it leaves to the
// environment, so that its dummy credentials can never go to AWS.
func TestExamplesLoad(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) < 2 {
		t.Fatalf("examples: %v", files)
	}
	t.Chdir("..") // their paths are relative to the repository's root, where make run runs
	for _, f := range files {
		f = strings.TrimPrefix(f, "../")
		if err := checkConfig(t, f, []string{"WEIR_AWS_ENDPOINT=http://127.0.0.1:45123"}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	_, err := LoadConfig("examples/local-aws.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "aws.local_credentials: only allowed when every service in use has a local endpoint") {
		t.Errorf("local-aws.yaml without WEIR_AWS_ENDPOINT: %v, want the local_credentials refusal", err)
	}
}

// Every bad config is refused by -check (LoadConfig, then Check) with messages that name the
// offending fields; those after the blank line pass LoadConfig and are refused by Check, as
// the start refuses them.
func TestBadConfigsNameTheField(t *testing.T) {
	cases := map[string][]string{
		"unknown-field.yaml":   {"field topic not found"},
		"kafka-missing.yaml":   {"source.kafka.brokers: at least one broker is required", "source.kafka.topics: at least one topic is required"},
		"kind.yaml":            {`source.kind: "pulsar" is not one of demo, kafka, kinesis`},
		"kinesis-missing.yaml": {"source.kinesis.stream: required"},
		"s3-archive.yaml":      {"sinks.s3.archive: removed: weir no longer archives raw records"},
		"many.yaml": {
			`source.format: unknown format "xml"`,
			`source.kafka.start: "middle" is not one of earliest, latest`,
			"source.kafka.fetch_max_partition_bytes: -1 is negative",
			"source.kafka.sasl: mechanism plain needs username and password",
			"source.kafka.revoke_commit_timeout: revoke_timeout 10s + revoke_commit_timeout 55s must be below rebalance_timeout (1m0s)",
			"window.period: 500ms is below the 1s minimum",
			`window.late: "drop" is not one of deadletter, oldest-open`,
			"window.max_ahead: -1s is negative",
			"shutdown_timeout: 3m20s is not in [1s, 120s]",
			"shutdown_reserve: 2m30s is not in [0, shutdown_timeout/2 = 1m40s]",
			`log.level: "loud" is not one of debug, info, warn, error`,
			`anomaly.time_zone: "Europe/Berlinn" is not a zone of the IANA database`,
		},

		"rules-missing.yaml":     {"contributors.rules: open testdata/rules/missing.json: no such file or directory"},
		"rules-malformed.yaml":   {"contributors.rules: testdata/rules/malformed.json:3:16: invalid character 'J'"},
		"file-dir.yaml":          {"sinks.file.dir: cannot create testdata/not-a-directory/out: testdata/not-a-directory is not a directory"},
		"emf-path.yaml":          {"sinks.cloudwatch: cloudwatch.emf.path: testdata/not-a-directory is not a directory"},
		"anomaly-state-dir.yaml": {"anomaly.state_dir: removed: the anomaly detectors run in the fleet's aggregator"},
		"time-field.yaml":        {`window.time_field: path "ts": does not start with $`},
		"kafka-tls.yaml":         {"source.kafka.tls.ca_file: open testdata/missing-ca.pem: no such file or directory"},
		"http-addr.yaml":         {"http.addr: address 8080: missing port in address"},
	}
	loadOnly := 0
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) != len(cases) {
		t.Errorf("%d bad configs in testdata, %d in the table", len(files), len(cases))
	}
	for name, wants := range cases {
		path := filepath.Join("testdata/bad", name)
		if _, err := LoadConfig(path, nil); err != nil {
			loadOnly++
		}
		err := checkConfig(t, path, nil)
		if err == nil {
			t.Errorf("%s: passed -check", name)
			continue
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not mention %q:\n%v", name, w, err)
			}
		}
	}
	if loadOnly != 7 {
		t.Errorf("%d bad configs fail to load, want 7: the others must pass LoadConfig and fail Check", loadOnly)
	}
}

func TestEnvironmentOverridesAndRejectsUnknown(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/kafka-msk-iam.yaml", []string{
		"WEIR_SOURCE_KAFKA_BROKERS=a:1, b:2",
		"WEIR_WINDOW_PERIOD=30s",
		"WEIR_SINKS_CLOUDWATCH_NAMESPACE=Other",
		"WEIR_SINKS_CLOUDWATCH_ENABLED=false",
		"WEIR_SOURCE_DEMO_RATE=12.5",
		"WEIR_ANOMALY_TIME_ZONE=Europe/Berlin",
		"HOME=/root",
		"WEIR_TEST_LOG=1", "WEIR_NPM_CACHE=/tmp/npm", // not configuration: ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Source.Kafka.Brokers; len(got) != 2 || got[1] != "b:2" {
		t.Errorf("brokers %v", got)
	}
	if cfg.Window.Period != 30*time.Second || cfg.Sinks.CloudWatch.Namespace != "Other" || cfg.cloudWatchOn() || cfg.Source.Demo.Rate != 12.5 ||
		cfg.Anomaly.TimeZone != "Europe/Berlin" {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	_, err = LoadConfig("", []string{"WEIR_SOURCE_KAFKA_BROKER=a:1"})
	if err == nil || !strings.Contains(err.Error(), "WEIR_SOURCE_KAFKA_BROKER names no configuration field") {
		t.Errorf("unknown variable: %v", err)
	}
	_, err = LoadConfig("", []string{"WEIR_WINDOW_PERIOD=soon"})
	if err == nil || !strings.Contains(err.Error(), "WEIR_WINDOW_PERIOD") {
		t.Errorf("bad value: %v", err)
	}
	// A removed field is refused as removed, not as a typo.
	_, err = LoadConfig("", []string{"WEIR_SINKS_S3_ARCHIVE_ENABLED=true"})
	if err == nil || !strings.Contains(err.Error(), "sinks.s3.archive (environment WEIR_SINKS_S3_ARCHIVE_ENABLED): removed") {
		t.Errorf("removed field: %v", err)
	}
}

func TestBudgetFromMemoryLimit(t *testing.T) {
	for _, c := range []struct{ configured, limit, want int64 }{
		{0, 0, pipeline.DefaultBudgetBytes},
		{0, 1 << 30, 256 << 20},
		{0, 8 << 20, 4 << 20},
		{32 << 20, 1 << 30, 32 << 20},
	} {
		if got := budgetBytes(c.configured, c.limit); got != c.want {
			t.Errorf("budgetBytes(%d, %d) = %d, want %d", c.configured, c.limit, got, c.want)
		}
	}
}
