package deploy

import (
	"testing"

	"github.com/weirstream/weir/internal/ecs/ecstest"
)

// fakeECSAgent is the shared fake ECS agent (internal/ecs/ecstest) seen as the permission
// checks see calls: a protection call is what the agent turns into ecs:UpdateTaskProtection
// with the task role's credentials, on the task's own ARN.
type fakeECSAgent struct{ *ecstest.Agent }

func startFakeECSAgent(t *testing.T, cluster, taskID string) *fakeECSAgent {
	t.Helper()
	return &fakeECSAgent{ecstest.Start(t, testRegion, testAccount, cluster, taskID)}
}

func (a *fakeECSAgent) calls() []observedCall {
	var out []observedCall
	for _, r := range a.Requests() {
		c := observedCall{call: r.Endpoint + ":" + r.Method + " " + r.Path, context: map[string]string{}}
		if r.Endpoint == "ecs-agent" {
			c.resource = a.TaskARN()
		}
		out = append(out, c)
	}
	return out
}

func (a *fakeECSAgent) env() []string { return a.Env() }
