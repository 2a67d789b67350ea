package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A fleet configured with processing-time windows starts (it is a valid choice), but says at
// start, and under -check, that it gives up exactly-once counts across a crash, naming the
// field and the docs. Event time, and the demo (nothing is read again there), say nothing.
func TestProcessingTimeInAFleetWarns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  string
		environ []string
		warn    bool
	}{
		{"kafka, processing time", "testdata/good/kafka-msk-iam.yaml", []string{"WEIR_WINDOW_TIME=processing", "WEIR_WINDOW_TIME_FIELD="}, true},
		{"kinesis, processing time", "testdata/good/kinesis.yaml", []string{"WEIR_WINDOW_TIME=processing", "WEIR_WINDOW_TIME_FIELD="}, true},
		{"kafka, event time", "testdata/good/kafka-msk-iam.yaml", nil, false},
		{"demo, processing time", "testdata/good/empty.yaml", []string{"WEIR_WINDOW_TIME=processing"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig(tc.config, tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			deps := Deps{Logger: slog.New(slog.NewJSONHandler(&out, nil)), Registry: prometheus.NewRegistry()}
			if err := Check(context.Background(), cfg, deps); err != nil {
				t.Fatalf("the config must still start: %v", err)
			}
			var found map[string]any
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" && rec["field"] == "window.time" {
					found = rec
				}
			}
			if (found != nil) != tc.warn {
				t.Fatalf("warning about window.time: %v, want %v; the log:\n%s", found != nil, tc.warn, out.String())
			}
			if found == nil {
				return
			}
			if msg, _ := found["msg"].(string); !strings.Contains(msg, "window.time: processing") ||
				!strings.Contains(msg, "not exactly once") || !strings.Contains(msg, "README.md") {
				t.Errorf("the warning does not name the field, the consequence and the docs: %q", msg)
			}
		})
	}
}

// A max_ahead at or above the allowed lateness lets a producer ahead by less than it make the
// others late again: the worker starts, and says so at start, naming the field. The defaults
// (1s against 5s), and no time_field, say nothing.
func TestMaxAheadNotBelowLatenessWarns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		warn    bool
	}{
		{"defaults", nil, false},
		{"max_ahead above the lateness", []string{"WEIR_WINDOW_MAX_AHEAD=10s"}, true},
		{"lateness zero", []string{"WEIR_WINDOW_ALLOWED_LATENESS=0s"}, true},
		{"lateness zero, no time_field", []string{"WEIR_WINDOW_ALLOWED_LATENESS=0s", "WEIR_WINDOW_TIME_FIELD="}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadConfig("testdata/good/kafka-msk-iam.yaml", tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Window.TimeField == "" && tc.warn {
				t.Fatal("the test's config has no time_field")
			}
			var out bytes.Buffer
			deps := Deps{Logger: slog.New(slog.NewJSONHandler(&out, nil)), Registry: prometheus.NewRegistry()}
			if err := Check(context.Background(), cfg, deps); err != nil {
				t.Fatalf("the config must still start: %v", err)
			}
			found := false
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "WARN" && rec["field"] == "window.max_ahead" {
					found = true
				}
			}
			if found != tc.warn {
				t.Errorf("warning about window.max_ahead: %v, want %v; the log:\n%s", found, tc.warn, out.String())
			}
		})
	}
}
