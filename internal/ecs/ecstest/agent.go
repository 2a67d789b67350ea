// Package ecstest is a fake ECS agent for tests: the two endpoints a task reaches through the
// variables the agent injects, task metadata v4 (ECS_CONTAINER_METADATA_URI_V4) and task
// scale-in protection (ECS_AGENT_URI). It records every request, so a test can see when the
// worker took and dropped protection. The deploy tests run the worker binary against it; the
// worker's protection tests run the library against it.
package ecstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The paths the agent serves under; a real agent's include a per-task id.
const (
	MetadataPath = "/v4/0f1e2d3c-metadata"
	AgentPath    = "/api/0f1e2d3c-agent"
)

// Request is one request the agent received.
type Request struct {
	Time time.Time
	// Endpoint is "ecs-metadata" or "ecs-agent"; Method and Path (under MetadataPath or
	// AgentPath) are the request's.
	Endpoint, Method, Path string
	// Protect is the body's ProtectionEnabled, for a protection call.
	Protect bool
}

// Agent is a running fake agent.
type Agent struct {
	srv     *httptest.Server
	region  string
	account string
	cluster string
	taskARN string

	mu  sync.Mutex
	got []Request
}

// Start serves a fake agent for the task taskID of cluster until the test ends.
func Start(t testing.TB, region, account, cluster, taskID string) *Agent {
	t.Helper()
	a := &Agent{region: region, account: account, cluster: cluster,
		taskARN: fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, account, cluster, taskID)}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, MetadataPath):
		a.record(Request{Endpoint: "ecs-metadata", Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, MetadataPath)})
		_ = json.NewEncoder(w).Encode(map[string]string{
			"Cluster":  fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", a.region, a.account, a.cluster),
			"TaskARN":  a.taskARN,
			"Family":   "weir",
			"Revision": "7", "AvailabilityZone": a.region + "a", "LaunchType": "FARGATE",
		})
	case strings.HasPrefix(r.URL.Path, AgentPath):
		var body struct{ ProtectionEnabled bool }
		_ = json.NewDecoder(r.Body).Decode(&body)
		a.record(Request{Endpoint: "ecs-agent", Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, AgentPath),
			Protect: body.ProtectionEnabled})
		resp := map[string]any{"ProtectionEnabled": body.ProtectionEnabled, "TaskArn": a.taskARN}
		if body.ProtectionEnabled {
			resp["ExpirationDate"] = time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"protection": resp})
	default:
		http.NotFound(w, r)
	}
}

func (a *Agent) record(r Request) {
	r.Time = time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, r)
}

// Requests returns every request so far, in order.
func (a *Agent) Requests() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Request(nil), a.got...)
}

// Protections returns the protection calls so far, in order.
func (a *Agent) Protections() []Request {
	var out []Request
	for _, r := range a.Requests() {
		if r.Endpoint == "ecs-agent" {
			out = append(out, r)
		}
	}
	return out
}

// TaskARN is the ARN of the task the agent serves.
func (a *Agent) TaskARN() string { return a.taskARN }

// Env returns the variables the ECS agent injects into a task's containers.
func (a *Agent) Env() []string {
	return []string{"ECS_CONTAINER_METADATA_URI_V4=" + a.srv.URL + MetadataPath, "ECS_AGENT_URI=" + a.srv.URL + AgentPath}
}
