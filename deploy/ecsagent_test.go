package deploy

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

// fakeECSAgent serves the two ECS agent endpoints a task reaches through the variables the
// agent injects: task metadata v4 (ECS_CONTAINER_METADATA_URI_V4) and task scale-in
// protection (ECS_AGENT_URI). It records each request; a protection call is what the agent
// turns into ecs:UpdateTaskProtection with the task role's credentials.
type fakeECSAgent struct {
	srv     *httptest.Server
	cluster string
	taskARN string

	mu  sync.Mutex
	got []observedCall
}

const (
	agentMetadataPath = "/v4/0f1e2d3c-metadata"
	agentAPIPath      = "/api/0f1e2d3c-agent"
)

func startFakeECSAgent(t *testing.T, cluster, taskID string) *fakeECSAgent {
	t.Helper()
	a := &fakeECSAgent{cluster: cluster,
		taskARN: fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", testRegion, testAccount, cluster, taskID)}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, agentMetadataPath):
			a.record(observedCall{call: "ecs-metadata:" + r.Method + " " + strings.TrimPrefix(r.URL.Path, agentMetadataPath)})
			_ = json.NewEncoder(w).Encode(map[string]string{
				"Cluster":  fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", testRegion, testAccount, cluster),
				"TaskARN":  a.taskARN,
				"Family":   "weir",
				"Revision": "7", "AvailabilityZone": testRegion + "a", "LaunchType": "FARGATE",
			})
		case strings.HasPrefix(r.URL.Path, agentAPIPath):
			a.record(observedCall{call: "ecs-agent:" + r.Method + " " + strings.TrimPrefix(r.URL.Path, agentAPIPath),
				resource: a.taskARN})
			var body struct{ ProtectionEnabled bool }
			_ = json.NewDecoder(r.Body).Decode(&body)
			resp := map[string]any{"ProtectionEnabled": body.ProtectionEnabled, "TaskArn": a.taskARN}
			if body.ProtectionEnabled {
				resp["ExpirationDate"] = time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"protection": resp})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeECSAgent) record(c observedCall) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.context = map[string]string{}
	a.got = append(a.got, c)
}

func (a *fakeECSAgent) calls() []observedCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]observedCall(nil), a.got...)
}

// env returns the variables the ECS agent injects into a task's containers.
func (a *fakeECSAgent) env() []string {
	return []string{"ECS_CONTAINER_METADATA_URI_V4=" + a.srv.URL + agentMetadataPath, "ECS_AGENT_URI=" + a.srv.URL + agentAPIPath}
}
