package s3

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/weirstream/weir/internal/s3proxy"
	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/partialtest"
)

// Every request the sink and its partial store send is counted in weir_s3_requests_total under
// its kind and op, failed attempts included (S3 bills them too), and the counter agrees with a
// proxy that counts on the wire: every call weir makes, from the bucket check to a multipart
// upload's abort. The faults are injected between the SDK and the proxy, so the proxy never
// sees them and the counter must have exactly one more request for each.
func TestRequestsCountedByKindAndOp(t *testing.T) {
	env := newMotoEnv(t)
	proxy := s3proxy.Start(t, env.srv.Endpoint())
	env.conf.Endpoints.S3 = proxy.Endpoint()
	faults := newFaultyHTTP()
	s := env.sink(t, func(c *Config) { c.Gzip = aws.Bool(false); c.PartSize = 5 << 20 }, faults)
	ps := s.PartialStore(NewClient(env.awsCfg, &env.conf, func(o *s3.Options) { o.HTTPClient = faults }))
	ctx := context.Background()
	w := pipeline.Window{Start: partialtest.T0, End: partialtest.T0.Add(time.Minute)}
	p := pipeline.Partition{Stream: "events", ID: "3"}

	if err := s.Check(ctx); err != nil { // probe: put
		t.Fatal(err)
	}
	if err := s.Write(ctx, reportsOutput()); err != nil { // report: a put per report object
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 11<<20) // three parts
	if err := s.up.put(ctx, "report", "weir/test/big", "text/plain", "", big); err != nil {
		t.Fatal(err)
	}
	faults.plan = []int{0, http.StatusForbidden} // create, then a part refused: abort
	if err := s.up.put(ctx, "report", "weir/test/refused", "text/plain", "", big); err == nil {
		t.Fatal("a refused part: want an error")
	}
	faults.plan = []int{http.StatusServiceUnavailable} // a partial PUT retried once
	if err := ps.WritePartial(ctx, w.Start, p, []byte("partial")); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.ReadPartial(ctx, w.Start, p); err != nil {
		t.Fatal(err)
	}
	if err := ps.ListPartials(ctx, w.Start, func(time.Time, pipeline.Partition) bool { return true }); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second claim fails its condition (still a request) and reads the marker back
		if _, err := ps.ClaimPublish(ctx, w, []byte("claim")); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := ps.SaveState(ctx, "aggregator", []byte("state"), ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps.LoadState(ctx, "aggregator"); err != nil { // list, then get
		t.Fatal(err)
	}
	if err := ps.WriteLoad(ctx, w.Start, "task-a", []byte("load")); err != nil {
		t.Fatal(err)
	}
	if err := ps.ListLoads(ctx, w.Start, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.ReadLoad(ctx, w.Start, "task-a"); err != nil {
		t.Fatal(err)
	}

	type kindOp struct{ kind, op string }
	wire := map[kindOp]int{}
	for _, r := range proxy.Requests() {
		kind := r.Kind()
		switch r.Key {
		case "weir/test/" + probeKey:
			kind = "probe"
		case "weir/test/big", "weir/test/refused":
			kind = "report"
		}
		wire[kindOp{kind, r.Op}]++
	}
	want := maps.Clone(wire)
	want[kindOp{"report", s3proxy.UploadPart}]++ // the refused part
	want[kindOp{"partial", s3proxy.Put}]++       // the SlowDown
	got := map[kindOp]int{}
	for kind, ops := range map[string][]string{
		"probe": {opPut}, "anomaly": {opPut}, "report": {opPut, opCreateMultipart, opUploadPart, opCompleteMultipart, opAbortMultipart},
		"partial": {opPut, opGet, opList}, "published": {opPut, opGet}, "state": {opPut, opGet, opList},
		"load": {opPut, opGet, opList},
	} {
		for _, op := range ops {
			if n := int(testutil.ToFloat64(s.m.requests.WithLabelValues(kind, op))); n > 0 {
				got[kindOp{kind, op}] = n
			}
		}
	}
	if n := testutil.CollectAndCount(s.m.requests); n != len(got) {
		t.Errorf("%d series of weir_s3_requests_total, %d expected: a kind or op this test does not know", n, len(got))
		for _, r := range proxy.Requests() {
			t.Logf("%s %s", r.Op, r.Key)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("weir_s3_requests_total:\n got %v\nwant %v (on the wire %v)", got, want, wire)
	}
	for _, op := range []string{opAbortMultipart, opList, opGet, opCompleteMultipart} {
		if wire[kindOp{"report", op}]+wire[kindOp{"partial", op}]+wire[kindOp{"state", op}] == 0 {
			t.Errorf("no %s request on the wire: the test does not exercise it", op)
		}
	}
}
