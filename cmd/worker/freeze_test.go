package main

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weirstream/weir/internal/workerproc"
)

// sumMetric sums the samples of a counter on the process's /metrics (-1 if it cannot be read).
func (p *fleetProc) sumMetric(name string) float64 {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, m := range regexp.MustCompile(`(?m)^`+name+`(?:\{[^}]*\})? (\S+)$`).FindAllSubmatch(b, -1) {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		sum += v
	}
	return sum
}

// A worker process stopped (SIGSTOP) for twice its idle timeout while a producer carries on,
// three times, then resumed (SIGCONT): as a container throttled at its CPU limit or a
// suspended host. Every record reached the broker within milliseconds of its stamp, so none
// may be late: before the stall rule of pipeline/eventtime.go (rule 4), the first tick after
// each freeze closed the open windows on the wall clock, and the records sent meanwhile were
// dead-lettered late.
func TestFrozenWorkerMakesNothingLate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it against a broker process for ~25s")
	}
	bin := workerproc.Build(t, ".")
	// The broker runs in the test's process, which is never stopped, and accepts the fleet
	// configuration's 5 s session timeout (longer than each freeze: the worker keeps its
	// partitions).
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "events"),
		kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	w := startFleetProc(t, bin, "w", workerproc.Writable(t), brokers) // 2 s windows, 500 ms lateness, 1 s idle
	lp := produceLive(t, brokers, 4, 2*time.Second, nil)
	w.WaitFor(t, "the worker to read records", 60*time.Second, func() bool {
		return w.sumMetric("weir_records_processed_total") > 0
	})
	time.Sleep(3 * time.Second)
	const freeze = 2 * time.Second // twice the idle timeout
	for range 3 {
		if err := w.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(freeze)
		if err := w.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
	}
	var produced int64
	for _, parts := range lp.finish() {
		for _, n := range parts {
			produced += n
		}
	}
	w.WaitFor(t, "the worker to read every record", 30*time.Second, func() bool {
		return w.sumMetric("weir_records_processed_total") >= float64(produced)
	})
	late := w.sumMetric("weir_late_records_total")
	t.Logf("%d records produced, %v late after 3 freezes of %v; the slowest took %v from its stamp to the broker",
		produced, late, freeze, lp.slowest)
	if _, err, exited := w.Terminate(20 * time.Second); !exited || err != nil {
		t.Errorf("SIGTERM: exited %v, %v", exited, err)
	}
	// A record the producer delivered more than the allowed lateness after its stamp may be late
	// by no fault of the worker: the test's own process was starved (the host, not the freeze).
	if late != 0 && lp.slowest > 500*time.Millisecond {
		t.Skipf("%v records late, but the producer delivered a record %v after its stamp (allowed lateness 500ms): this host cannot tell a late worker from a late producer", late, lp.slowest)
	}
	if late != 0 {
		t.Errorf("%v of %d records late: every one reached the broker on time", late, produced)
	}
}
