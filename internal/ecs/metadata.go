package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// EnvMetadataURI is the variable the ECS agent injects with the task metadata v4 base URI.
const EnvMetadataURI = "ECS_CONTAINER_METADATA_URI_V4"

// TaskMetadata is the part of the v4 task metadata the worker uses (for the TaskId dimension
// and log fields).
type TaskMetadata struct {
	TaskARN string
	// TaskID is the last segment of the task ARN, the id ECS shows in the console.
	TaskID string
	// Cluster is the cluster name (the metadata carries an ARN on Fargate, a name elsewhere).
	Cluster          string
	Family           string
	Revision         string
	AvailabilityZone string
	LaunchType       string
	// CPULimit is the task's CPU in vCPUs (Limits.CPU: 0.25 for a 256-unit Fargate task); 0
	// when the metadata does not say.
	CPULimit float64
}

// ReadTaskMetadata fetches GET {metadataURI}/task. An empty metadataURI means the worker is
// not on ECS: it returns ok=false and no error. hc nil uses http.DefaultClient; bound the call
// with ctx.
func ReadTaskMetadata(ctx context.Context, hc *http.Client, metadataURI string) (md TaskMetadata, ok bool, err error) {
	if metadataURI == "" {
		return TaskMetadata{}, false, nil
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(metadataURI, "/")+"/task", nil)
	if err != nil {
		return TaskMetadata{}, false, fmt.Errorf("ecs: task metadata: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return TaskMetadata{}, false, fmt.Errorf("ecs: task metadata: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return TaskMetadata{}, false, fmt.Errorf("ecs: task metadata: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return TaskMetadata{}, false, fmt.Errorf("ecs: task metadata: HTTP %d: %.200s", res.StatusCode, raw)
	}
	var v struct {
		Cluster, TaskARN, Family, Revision, AvailabilityZone, LaunchType string
		Limits                                                           struct{ CPU float64 }
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return TaskMetadata{}, false, fmt.Errorf("ecs: task metadata: %w", err)
	}
	id, err := taskID(v.TaskARN)
	if err != nil {
		return TaskMetadata{}, false, err
	}
	return TaskMetadata{
		TaskARN: v.TaskARN, TaskID: id, Cluster: clusterName(v.Cluster),
		Family: v.Family, Revision: v.Revision, AvailabilityZone: v.AvailabilityZone, LaunchType: v.LaunchType,
		CPULimit: max(v.Limits.CPU, 0),
	}, true, nil
}

// taskID takes the id out of arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID (or the older
// …:task/ID).
func taskID(arn string) (string, error) {
	_, resource, found := strings.Cut(arn, ":task/")
	if !strings.HasPrefix(arn, "arn:") || !found || resource == "" {
		return "", fmt.Errorf("ecs: task metadata: TaskARN %q is not a task ARN", arn)
	}
	id := resource[strings.LastIndexByte(resource, '/')+1:]
	if id == "" {
		return "", fmt.Errorf("ecs: task metadata: TaskARN %q has no task id", arn)
	}
	return id, nil
}

func clusterName(cluster string) string {
	if _, name, found := strings.Cut(cluster, ":cluster/"); found {
		return name
	}
	return cluster
}
