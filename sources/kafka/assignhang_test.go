package kafka_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A shutdown while an assignment cannot read its checkpoints (the broker refuses or is gone)
// ends: the assignment's retries stop with the source's Run. Before, they went on until the
// client closed, which Close does only after Run has returned, while franz-go held Run's poll
// until the assignment returned: the worker never stopped (a CI run hung 20 minutes in
// worker TestReadinessFollowsTheBrokers this way).
func TestShutdownDuringAnAssignmentThatCannotReadCheckpoints(t *testing.T) {
	c := newCluster(t, 2)
	c.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.OffsetFetchRequest)
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.SetVersion(r.GetVersion())
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		for _, g := range r.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil, true
	})
	st := newStore()
	a := startWorker(t, c.ListenAddrs(), "assign-hang", st, workerOpts{})
	time.Sleep(2 * time.Second) // joined, assigned, and retrying the checkpoints
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = a.StopSource(t)
	}()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not stop within 20s of its shutdown")
	}
}
