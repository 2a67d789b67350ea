package main

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weirstream/weir/internal/metrictest"
	"github.com/weirstream/weir/internal/moto"
	"github.com/weirstream/weir/internal/s3proxy"
	"github.com/weirstream/weir/internal/workerproc"
	"github.com/weirstream/weir/sinks/layout"
	"github.com/weirstream/weir/sources/demo"
)

// costProc is one worker of the cost run, with the proxy that sees every S3 request it sends.
type costProc struct {
	*workerproc.Proc
	name, addr string
	proxy      *s3proxy.Proxy
}

// scrape reads the worker's /metrics.
func (p *costProc) scrape(t *testing.T) prometheus.Gatherer {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatalf("%s: /metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("%s: /metrics: %v", p.name, err)
	}
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		out := make([]*dto.MetricFamily, 0, len(mfs))
		for _, mf := range mfs {
			out = append(out, mf)
		}
		return out, nil
	})
}

// histogram returns the sample count and sum of the histogram name in g.
func histogram(t *testing.T, g prometheus.Gatherer, name string) (uint64, float64) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

var (
	keyWindow    = regexp.MustCompile(`window=(\d{8}T\d{6}Z)`)
	reportWindow = regexp.MustCompile(`/(\d{8}T\d{6}Z)_\d{8}T\d{6}Z[^/]*$`)
)

// windowOf returns the window an S3 request is about, from its key (a partial, a publish
// marker, a report) or its listing's start; ok is false for the state object.
func windowOf(r s3proxy.Request) (time.Time, bool) {
	s := r.Key
	if r.Op == s3proxy.List {
		s = r.StartAfter
	}
	m := keyWindow.FindStringSubmatch(s)
	if m == nil {
		m = reportWindow.FindStringSubmatch(s)
	}
	if m == nil {
		return time.Time{}, false
	}
	w, err := time.Parse("20060102T150405Z", m[1])
	return w, err == nil
}

// windowCost is what one window cost in S3 requests: per worker, by "kind op".
type windowCost map[string]map[string]int

func (c windowCost) add(worker, what string) {
	if c[worker] == nil {
		c[worker] = map[string]int{}
	}
	c[worker][what]++
}

// A fleet of 3 worker processes on 8 partitions under steady traffic, every S3 request seen
// on the wire by a proxy in front of moto (one per worker, so each request has its sender),
// over several windows once the group is stable: the S3 cost of a window, per partition and
// for the aggregator, checked against the design's bounds, and the global report's delay after
// the window's end. The workers' own weir_s3_requests_total must agree with the wire.
//
// The bounds: a worker PUTs one partial per partition it owns per window and sends nothing
// else; the aggregator GETs each partial once, PUTs each report object once (the fleet summary,
// throughput, one per example rule), one publish marker and one state object per window, and
// LISTs from the window's end until its report at most once per poll, plus once per partial
// its own worker writes (the fleet-of-one wake-up): a bound per window, whatever the number of
// windows before it. Nobody sends a HEAD, a DELETE or any other call. The numbers go in aggregator/README.md ("Cost and latency").
func TestFleetS3RequestsPerWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a fleet of 3 processes for ~1 min")
	}
	bin := workerproc.Build(t, ".")
	const (
		parts    = 8
		workers  = 3
		period   = 5 * time.Second
		lateness = time.Second
		idle     = 2 * time.Second
		poll     = period / 10 // the default ratio (aggregator.poll: max(1s, period/10))
		measured = 6           // windows
		// scalingPeriod: a few load reports within the measured windows (the default is 60s).
		scalingPeriod = 10 * time.Second
	)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "events"),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := moto.Start(t)
	_, awsCfg := srv.AWS(t)
	s3c := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) { o.UsePathStyle = true; o.BaseEndpoint = aws.String(srv.Endpoint()) })
	if _, err := s3c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String("weir")}); err != nil {
		t.Fatal(err)
	}
	dir := workerproc.Writable(t)
	rules, err := filepath.Glob("../../examples/rules/*.json")
	if err != nil || len(rules) != 3 {
		t.Fatalf("example rules: %v (%d files)", err, len(rules))
	}
	for i, r := range rules { // where the worker's user can read them
		data, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		rules[i] = filepath.Join(dir, filepath.Base(r))
		if err := os.WriteFile(rules[i], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The demo's access-log events (Zipf tenants and users, 5% server errors), so that the
	// example rules each have contributors and a report every window.
	rng := rand.New(rand.NewPCG(1, 2))
	tenants, users := demo.NewZipf(200, 1.1), demo.NewZipf(20000, 1.05)
	lp := produceLive(t, c.ListenAddrs(), parts, period, func(now time.Time, _ int) []byte {
		e := demo.Event{TS: now, Tenant: tenants.Draw(rng) + 1, User: users.Draw(rng) + 1}
		e.Fill(rng, 0.05)
		return e.AppendJSON(nil)
	})
	producing := true
	defer func() {
		if producing {
			lp.finish()
		}
	}()
	fleet := make([]*costProc, workers)
	for i := range fleet {
		p := &costProc{name: fmt.Sprintf("w%d", i), addr: workerproc.FreeAddr(t), proxy: s3proxy.Start(t, srv.Endpoint())}
		p.Proc = workerproc.Start(t, bin, dir, []string{"HOME=/nonexistent",
			"WEIR_SOURCE_KIND=kafka", "WEIR_SOURCE_KAFKA_BROKERS=" + strings.Join(c.ListenAddrs(), ","),
			"WEIR_SOURCE_KAFKA_TOPICS=events", "WEIR_SOURCE_KAFKA_GROUP=fleet",
			"WEIR_SOURCE_KAFKA_SESSION_TIMEOUT=5s", "WEIR_SOURCE_KAFKA_REBALANCE_TIMEOUT=8s",
			"WEIR_SOURCE_KAFKA_REVOKE_TIMEOUT=2s", "WEIR_SOURCE_KAFKA_REVOKE_COMMIT_TIMEOUT=1s",
			"WEIR_WINDOW_PERIOD=" + period.String(), "WEIR_WINDOW_TIME_FIELD=$.ts",
			"WEIR_WINDOW_ALLOWED_LATENESS=" + lateness.String(), "WEIR_WINDOW_IDLE_TIMEOUT=" + idle.String(),
			"WEIR_AGGREGATOR_POLL=" + poll.String(), "WEIR_CONTRIBUTORS_RULES=" + strings.Join(rules, ","),
			"WEIR_SCALING_PERIOD=" + scalingPeriod.String(),
			"WEIR_SINKS_FILE_DIR=", "WEIR_SINKS_S3_BUCKET=weir", "WEIR_AWS_LOCAL_CREDENTIALS=true",
			"WEIR_AWS_ENDPOINT=" + p.proxy.Endpoint(),
			"WEIR_SINKS_CLOUDWATCH_EMF_PATH=" + dir + "/" + p.name + ".emf",
			"WEIR_HTTP_ADDR=" + p.addr, "WEIR_SUMMARY=off", "WEIR_LOG_FORMAT=json", "WEIR_SHUTDOWN_TIMEOUT=15s"})
		fleet[i] = p
	}

	// owners returns, per window, which worker PUT each partition's partial.
	owners := func() map[time.Time]map[string]string {
		out := map[time.Time]map[string]string{}
		for _, p := range fleet {
			for _, r := range p.proxy.Requests() {
				if r.Op != s3proxy.Put || r.Kind() != "partial" {
					continue
				}
				_, rest, _ := strings.Cut(r.Key, "kind=")
				w, part, ok := layout.ParsePartialKey("kind=" + rest)
				if !ok {
					t.Fatalf("%s PUT a partial under an unexpected key %s", p.name, r.Key)
				}
				if out[w] == nil {
					out[w] = map[string]string{}
				}
				out[w][part.ID] = p.name
			}
		}
		return out
	}
	// Stable: a window whose partials came from every worker, for every partition.
	var stable time.Time
	for deadline := time.Now().Add(90 * time.Second); stable.IsZero(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the fleet never wrote a window's partials from all %d workers in 90s: %v", workers, owners())
		}
		for w, byPart := range owners() {
			writers := map[string]bool{}
			for _, name := range byPart {
				writers[name] = true
			}
			if len(byPart) == parts && len(writers) == workers && w.After(stable) {
				stable = w
			}
		}
	}
	first := stable.Add(2 * period) // one window more to let the seat settle
	last := first.Add((measured - 1) * period)
	t.Logf("group stable at window %s; measuring windows %s … %s", stable.Format(time.TimeOnly), first.Format(time.TimeOnly), last.Format(time.TimeOnly))

	var seat *costProc
	before := map[*costProc]prometheus.Gatherer{}
	// Until the last measured window is reported (its fleet summary written).
	reported := func() bool {
		for _, p := range fleet {
			for _, r := range p.proxy.Requests() {
				if w, ok := windowOf(r); ok && r.Op == s3proxy.Put && r.Kind() == "summary" && w.Equal(last) {
					return true
				}
			}
		}
		return false
	}
	for deadline := first.Add(measured*period + 60*time.Second); !reported(); time.Sleep(100 * time.Millisecond) {
		// Between the reports of the window before the first and of the first.
		if len(before) == 0 && time.Now().After(first.Add(period)) {
			for _, p := range fleet {
				before[p] = p.scrape(t)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %s not reported by %v", last.Format(time.TimeOnly), deadline.Format(time.TimeOnly))
		}
	}
	time.Sleep(poll) // the state save after the last window's reports

	// The workers' own counts against the wire: every request counted before the scrape
	// reached the proxy within 200ms of it, and every one the proxy saw before it was counted.
	after := map[*costProc]prometheus.Gatherer{}
	for _, p := range fleet {
		wire0 := p.proxy.Count()
		after[p] = p.scrape(t)
		time.Sleep(200 * time.Millisecond)
		wire1 := p.proxy.Count()
		for _, op := range []string{s3proxy.Put, s3proxy.Get, s3proxy.List, s3proxy.CreateMultipart, s3proxy.UploadPart, s3proxy.CompleteMultipart, s3proxy.AbortMultipart} {
			n := int(metrictest.Sum(t, after[p], "weir_s3_requests_total", map[string]string{"op": op}))
			if n < wire0[op] || n > wire1[op] {
				t.Errorf("%s: weir_s3_requests_total{op=%q} is %d; on the wire %d … %d", p.name, op, n, wire0[op], wire1[op])
			}
		}
		for _, op := range []string{s3proxy.Head, s3proxy.Delete, s3proxy.Other} {
			if wire1[op] != 0 {
				t.Errorf("%s sent %d %s requests; weir needs none", p.name, wire1[op], op)
			}
		}
		if metrictest.Sum(t, after[p], "weir_aggregator_leader", nil) == 1 {
			seat = p
		}
	}
	if seat == nil {
		t.Fatal("no worker holds the aggregator's seat")
	}
	lp.finish()
	producing = false

	// Each measured window's requests, attributed by key (the state object: to the window
	// whose publish marker its sender wrote last).
	cost := map[time.Time]windowCost{}
	done := map[time.Time]time.Time{} // window → its last report durable
	var unattributed []string
	// Load reports belong to scaling periods, not windows: counted apart, per worker and op,
	// from the first measured window on.
	loads := map[string]map[string]int{}
	for _, p := range fleet {
		var lastMarked time.Time
		loads[p.name] = map[string]int{}
		for _, r := range p.proxy.Requests() {
			if r.Kind() == "load" {
				if !r.Start.Before(first) {
					loads[p.name][r.Op]++
				}
				continue
			}
			w, ok := windowOf(r)
			if r.Op == s3proxy.Put && r.Kind() == "published" {
				lastMarked = w
			}
			if !ok && r.Kind() == "state" {
				w, ok = lastMarked, !lastMarked.IsZero()
			}
			if r.Start.Before(first) && !ok || ok && (w.Before(first) || w.After(last)) {
				continue
			}
			if !ok {
				unattributed = append(unattributed, fmt.Sprintf("%s %s %s at %s", p.name, r.Op, r.Key, r.Start.Format(time.TimeOnly)))
				continue
			}
			if cost[w] == nil {
				cost[w] = windowCost{}
			}
			cost[w].add(p.name, r.Kind()+" "+r.Op)
			if k := r.Kind(); r.Op == s3proxy.Put && k != "partial" && k != "published" && k != "state" && r.Done.After(done[w]) {
				done[w] = r.Done
			}
		}
	}
	if len(unattributed) > 0 {
		t.Errorf("requests of no measured window (none expected under steady traffic):\n%s", strings.Join(unattributed, "\n"))
	}

	own := owners()
	seatParts := 0
	for _, name := range own[first] {
		if name == seat.name {
			seatParts++
		}
	}
	var delays []time.Duration
	var sums struct{ partialPuts, gets, lists, aggPuts int }
	for i := range measured {
		w := first.Add(time.Duration(i) * period)
		wc := cost[w]
		if !maps.Equal(own[w], own[first]) {
			t.Fatalf("the group rebalanced during the measurement: window %s owners %v, window %s owners %v",
				w.Format(time.TimeOnly), own[w], first.Format(time.TimeOnly), own[first])
		}
		// Partials: one PUT per partition, from its owner; the other workers send nothing else.
		perWorker := map[string]int{}
		for _, name := range own[w] {
			perWorker[name]++
		}
		for _, p := range fleet {
			if got := wc[p.name]["partial put"]; got != perWorker[p.name] {
				t.Errorf("window %s: %s PUT %d partials for the %d partitions it owns", w.Format(time.TimeOnly), p.name, got, perWorker[p.name])
			}
			if p == seat {
				continue
			}
			for what, n := range wc[p.name] {
				if what != "partial put" {
					t.Errorf("window %s: %s (not the aggregator) sent %d %s", w.Format(time.TimeOnly), p.name, n, what)
				}
			}
		}
		agg := wc[seat.name]
		reports := 0
		for what, n := range agg {
			if strings.HasSuffix(what, " put") && what != "partial put" && what != "published put" && what != "state put" {
				reports += n
			}
		}
		if agg["partial get"] != parts {
			t.Errorf("window %s: the aggregator read %d partials of %d partitions: each once", w.Format(time.TimeOnly), agg["partial get"], parts)
		}
		if agg["state get"]+agg["state list"] != 0 {
			t.Errorf("window %s: the aggregator read its state (%d GET, %d LIST): once per term, not per window", w.Format(time.TimeOnly), agg["state get"], agg["state list"])
		}
		if agg["published put"] != 1 || agg["state put"] != 1 {
			t.Errorf("window %s: %d publish markers and %d state saves, want 1 each", w.Format(time.TimeOnly), agg["published put"], agg["state put"])
		}
		if reports < 5 {
			t.Errorf("window %s: %d report objects; want the fleet summary, throughput and one per rule", w.Format(time.TimeOnly), reports)
		}
		d := done[w].Sub(w.Add(period))
		delays = append(delays, d)
		// The aggregator lists from the window's end until it is complete: once per poll, and
		// once per partial its own worker writes (the wake-up), the last listing included.
		if maxLists := int((d+poll-1)/poll) + seatParts + 1; agg["partial list"] < 1 || agg["partial list"] > maxLists {
			t.Errorf("window %s: the aggregator listed %d times in the %v to its report; bound: one per poll (%v) + one per partial of its own worker (%d) + 1 = %d",
				w.Format(time.TimeOnly), agg["partial list"], d.Round(time.Millisecond), poll, seatParts, maxLists)
		}
		if bound := period + lateness + idle; d > bound {
			t.Errorf("window %s: reported %v after its end; a window under steady traffic should not wait past %v (the grace?)", w.Format(time.TimeOnly), d, bound)
		}
		sums.partialPuts += wc.total("partial put")
		sums.gets += agg["partial get"]
		sums.lists += agg["partial list"]
		sums.aggPuts += reports + agg["published put"] + agg["state put"]
		t.Logf("window %s: partials PUT %v; aggregator (%s): GET %d, LIST %d, PUT %d reports + %d marker + %d state; reported %v after its end",
			w.Format(time.TimeOnly), perWorker, seat.name, agg["partial get"], agg["partial list"], reports, agg["published put"], agg["state put"], d.Round(10*time.Millisecond))
	}
	slices.Sort(delays)
	n0, s0 := histogram(t, before[seat], "weir_aggregator_report_delay_seconds")
	n1, s1 := histogram(t, after[seat], "weir_aggregator_report_delay_seconds")
	hist := "no samples"
	if n1 > n0 {
		hist = fmt.Sprintf("mean %.2fs over %d windows", (s1-s0)/float64(n1-n0), n1-n0)
	}
	t.Logf("over %d windows of %v (allowed_lateness %v, idle_timeout %v, poll %v; %d partitions, %d workers, the seat's worker owns %d):\n"+
		"  per partition per window: %.2f PUT (its partial)\n"+
		"  aggregator per window: %.2f GET, %.2f LIST, %.2f PUT (reports, publish marker, state)\n"+
		"  report delay after the window's end: median %v, max %v (weir_aggregator_report_delay_seconds: %s)",
		measured, period, lateness, idle, poll, parts, workers, seatParts,
		float64(sums.partialPuts)/float64(measured*parts),
		float64(sums.gets)/measured, float64(sums.lists)/measured, float64(sums.aggPuts)/measured,
		delays[len(delays)/2].Round(10*time.Millisecond), delays[len(delays)-1].Round(10*time.Millisecond), hist)
	// Per scaling period, each worker PUTs its load report, and the aggregator alone LISTs the
	// period's reports and GETs each once.
	puts := 0
	for _, p := range fleet {
		puts += loads[p.name][s3proxy.Put]
		if loads[p.name][s3proxy.Put] == 0 {
			t.Errorf("%s wrote no load report in %v of %v scaling periods", p.name, last.Add(period).Sub(first), scalingPeriod)
		}
		if p != seat && loads[p.name][s3proxy.Get]+loads[p.name][s3proxy.List] != 0 {
			t.Errorf("%s (not the aggregator) read load reports: %v", p.name, loads[p.name])
		}
	}
	if agg := loads[seat.name]; agg[s3proxy.List] == 0 || agg[s3proxy.Get] > puts || len(agg) > 3 {
		t.Errorf("the aggregator's load requests %v: want a LIST per sizing, at most one GET per report written (%d), nothing else", agg, puts)
	}
	t.Logf("load reports over %v (scaling period %v): PUT %v; the aggregator LIST %d, GET %d",
		last.Add(period).Sub(first), scalingPeriod, func() map[string]int {
			m := map[string]int{}
			for _, p := range fleet {
				m[p.name] = loads[p.name][s3proxy.Put]
			}
			return m
		}(), loads[seat.name][s3proxy.List], loads[seat.name][s3proxy.Get])
	for _, p := range fleet {
		p.Stop(t, 30*time.Second)
	}
}

func (c windowCost) total(what string) int {
	n := 0
	for _, m := range c {
		n += m[what]
	}
	return n
}
