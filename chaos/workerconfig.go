package main

import (
	"os"

	"gopkg.in/yaml.v3"

	"github.com/weirstream/weir/pipeline"
)

// allowedLateness is the workers' window.allowed_lateness: the configuration leaves it at the
// worker's default.
var allowedLateness = pipeline.DefaultWindowConfig().AllowedLateness

// writeWorkerConfig writes the fleet's configuration file: the worker's defaults except the
// source (the bed's: a topic and group, or a stream and lease table), event time from the
// producer's stamp, the trial's window, the output's sinks, EMF lines for the CloudWatch
// metrics (each worker writes its own file, named by a variable), JSON logs, and no HTTP server
// (the workers share the machine's ports).
func writeWorkerConfig(path string, o options, b bed, out output) error {
	cfg := out.config()
	sinks, _ := cfg["sinks"].(map[string]any)
	if sinks == nil {
		sinks = map[string]any{}
	}
	sinks["cloudwatch"] = map[string]any{"mode": "emf", "namespace": "WeirChaos"}
	src := b.config()
	// Both may point at the trial's moto server (the output's S3, the lease table's DynamoDB):
	// the same endpoint, so their `aws:` keys merge.
	if a, ok := src["aws"].(map[string]any); ok {
		merged, _ := cfg["aws"].(map[string]any)
		if merged == nil {
			merged = map[string]any{}
		}
		for k, v := range a {
			merged[k] = v
		}
		cfg["aws"] = merged
	}
	for k, v := range map[string]any{
		"source": src["source"],
		"window": map[string]any{
			"period": o.Window.String(), "time_field": "$.ts", "idle_timeout": o.IdleTimeout.String(),
		},
		"sinks":            sinks,
		"http":             map[string]any{"addr": ""},
		"summary":          "off",
		"shutdown_timeout": o.ShutdownTimeout.String(),
		"log":              map[string]any{"level": "info", "format": "json"},
	} {
		cfg[k] = v
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
