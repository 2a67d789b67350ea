package kinesis

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/awsconf"
	"github.com/weirstream/weir/internal/moto"
)

// unansweredWrites holds every UpdateItem, while on, until its caller gives up, without
// sending it on: the write's answer (here a refusal) never comes in time, as from a server
// slow under load. Scans are answered.
type unansweredWrites struct {
	next aws.HTTPClient
	on   atomic.Bool
}

func (u *unansweredWrites) Do(req *http.Request) (*http.Response, error) {
	if u.on.Load() && req.Header.Get("X-Amz-Target") == "DynamoDB_20120810.UpdateItem" {
		<-req.Context().Done()
		return nil, req.Context().Err()
	}
	return u.next.Do(req)
}

// A renewal that fails after the lease's last known renewal is more than LeaseDuration old
// gives the lease up only if the table does not show a later write of this worker's landed.
// The state is set up by hand, so no timing decides it: the last write known to have landed
// is 7 s old (LeaseDuration 5 s), a later write whose answer was lost was sent 1 s ago, and
// the renewal now made (fenced on the old counter) is not answered within its budget. Under
// CPU load, moto answered a refusal that late in TestUnansweredRenewalsThatLandedKeepTheLease
// and the worker gave up a lease whose counter had moved under its own name a second before,
// and read the shard again (records counted twice).
func TestRenewalFailureReadsBackBeforeGivingUp(t *testing.T) {
	for _, landed := range []bool{true, false} {
		name := map[bool]string{true: "later write landed", false: "nothing landed"}[landed]
		t.Run(name, func(t *testing.T) {
			srv := moto.Start(t)
			c := awsconf.Config{Endpoint: srv.Endpoint(), LocalCredentials: true, Region: "us-east-1"}
			awsCfg, err := c.Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			u := &unansweredWrites{next: awsCfg.HTTPClient}
			awsCfg.HTTPClient = u
			cfg := DefaultConfig()
			cfg.Stream, cfg.LeaseTable, cfg.WorkerID = "s", "leases", "a"
			cfg.LeaseDuration, cfg.RenewInterval = 5*time.Second, time.Second
			reg := prometheus.NewRegistry()
			s, err := New(context.Background(), cfg, awsCfg, nil, reg, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.stopLease)
			ctx := context.Background()
			if err := s.store.ensureTable(ctx, true, nil); err != nil {
				t.Fatal(err)
			}
			const shard = "shardId-0"
			if _, err := s.store.create(ctx, lease{Shard: shard, Checkpoint: cpTrimHorizon}); err != nil {
				t.Fatal(err)
			}
			counter, err := s.store.take(ctx, getLease(t, s.store, shard), "a")
			if err != nil {
				t.Fatal(err)
			}
			h := &held{shard: shard, counter: counter, lastRenew: time.Now().Add(-7 * time.Second), cancel: func() {}}
			if landed {
				// The write whose answer was lost, as the server applied it.
				if _, _, err := s.store.renew(ctx, shard, "a", counter); err != nil {
					t.Fatal(err)
				}
			}
			h.noAnswer(time.Now().Add(-time.Second))
			s.held[shard] = h
			u.on.Store(true)
			s.renewOne(h)

			recovered := testutil.ToFloat64(s.m.leaseEvents.WithLabelValues("recovered"))
			if landed && (h.lost.Load() || h.counter != counter+1 || recovered != 1) {
				t.Errorf("lost %v, counter %d (want %d), recovered %v: a lease whose counter moved under this worker's name 1 s ago was given up",
					h.lost.Load(), h.counter, counter+1, recovered)
			}
			if !landed && (!h.lost.Load() || recovered != 0) {
				t.Errorf("lost %v, recovered %v: a lease not renewed for 7 s was kept", h.lost.Load(), recovered)
			}
		})
	}
}
