package main

import (
	"os"

	"gopkg.in/yaml.v3"
)

// writeWorkerConfig writes the fleet's configuration file: the worker's defaults except the
// Kafka source on the trial's topic and group, event time from the producer's stamp, the
// trial's window and group timeouts, the output's sinks, EMF lines for the CloudWatch metrics
// (each worker writes its own file, named by a variable), JSON logs, and no HTTP server (the
// workers share the machine's ports).
func writeWorkerConfig(path string, o options, brokers []string, out output) error {
	cfg := out.config()
	sinks, _ := cfg["sinks"].(map[string]any)
	if sinks == nil {
		sinks = map[string]any{}
	}
	sinks["cloudwatch"] = map[string]any{"mode": "emf", "namespace": "WeirChaos"}
	for k, v := range map[string]any{
		"source": map[string]any{
			"kind": "kafka", "format": "json",
			"kafka": map[string]any{
				"brokers": brokers, "topics": []string{trialTopic}, "group": trialGroup, "start": "earliest",
				"session_timeout":       o.SessionTimeout.String(),
				"rebalance_timeout":     o.RebalanceTimeout.String(),
				"revoke_timeout":        o.RevokeTimeout.String(),
				"revoke_commit_timeout": o.RevokeCommit.String(),
			},
		},
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
	if o.CommitInterval > 0 {
		kafka := cfg["source"].(map[string]any)["kafka"].(map[string]any)
		kafka["commit_interval"] = o.CommitInterval.String()
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
