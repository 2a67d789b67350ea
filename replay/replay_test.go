package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/pipeline/contrib"
	"github.com/weirstream/weir/pipeline/decode"
	"github.com/weirstream/weir/sinks/layout"
)

var t0 = time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)

type access struct {
	at                   time.Time
	tenant, path, method string
	status, bytes        int
}

// genAccessLog makes two minutes of access log: in each minute a few heavy tenants with known
// counts and bytes and a long tail of tenants seen once, in seeded random order.
func genAccessLog(seed uint64) []access {
	rng := rand.New(rand.NewPCG(seed, 9))
	heavy := []map[string]int{
		{"t-0001": 50, "t-0002": 30, "t-0003": 20},
		{"t-0003": 40, "t-0001": 10, "t-0004": 5},
	}
	var all []access
	for minute, counts := range heavy {
		var evs []access
		for tenant, n := range counts {
			for range n {
				evs = append(evs, access{tenant: tenant, path: "/api/v1/items", method: "GET", status: 200, bytes: 100})
			}
		}
		for i := range 150 {
			evs = append(evs, access{tenant: fmt.Sprintf("tail-%d-%d", minute, i), path: "/x", method: "GET", status: 404, bytes: 7})
		}
		// POSTs are filtered out by the test rule.
		for range 60 {
			evs = append(evs, access{tenant: "t-0009", path: "/upload", method: "POST", status: 201, bytes: 9})
		}
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		for i := range evs {
			evs[i].at = t0.Add(time.Duration(minute)*time.Minute + time.Duration(i)*time.Minute/time.Duration(len(evs)+1))
		}
		all = append(all, evs...)
	}
	return all
}

func (a access) json(timeStyle int) string {
	var ts string
	switch timeStyle {
	case 0:
		ts = `"` + a.at.Format(time.RFC3339Nano) + `"`
	case 1:
		ts = fmt.Sprint(a.at.UnixMilli())
	default:
		ts = fmt.Sprint(a.at.Unix())
	}
	return fmt.Sprintf(`{"ts":%s,"tenant":%q,"path":%q,"method":%q,"status":%d,"bytes":%d}`, ts, a.tenant, a.path, a.method, a.status, a.bytes)
}

func (a access) clf() string {
	return fmt.Sprintf(`10.0.0.1 - %s [%s] "%s %s HTTP/1.1" %d %d`, a.tenant, a.at.In(time.FixedZone("", -7*3600)).Format("02/Jan/2006:15:04:05 -0700"), a.method, a.path, a.status, a.bytes)
}

func rule(t *testing.T, name, def string) *contrib.Rule {
	t.Helper()
	r, err := contrib.ParseRule(name, []byte(def))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const jsonRule = `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["access"],"LogFormat":"JSON",
	"Contribution":{"Keys":["$.tenant"],"Filters":[{"Match":"$.method","In":["GET"]}]},"AggregateOn":"Count"}`

const clfRule = `{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["access"],"LogFormat":"CLF",
	"Fields":{"3":"user","5":"request","6":"status","7":"bytes"},
	"Contribution":{"Keys":["user"],"ValueOf":"bytes","Filters":[{"Match":"request","StartsWith":["GET "]}]},"AggregateOn":"Sum"}`

// wantTop is the exact top 3 per minute of the generated log.
var wantTop = [][]string{
	{"t-0001=50", "t-0002=30", "t-0003=20"},
	{"t-0003=40", "t-0001=10", "t-0004=5"},
}

func topOf(r contrib.Report, n int, scale float64) []string {
	var out []string
	for _, c := range r.Contributors[:n] {
		out = append(out, fmt.Sprintf("%s=%g", strings.Join(c.Keys, "|"), c.ApproximateAggregateValue/scale))
	}
	return out
}

func readReport(t *testing.T, dir, name string, w pipeline.Window, gz bool) contrib.Report {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(layout.ReportKey("report", name, w, "replay", gz)))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Count(data, []byte("\n")) != 1 {
		t.Fatalf("%s: want one JSON object on one line, have %q", path, data)
	}
	var r contrib.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReplayJSON(t *testing.T) {
	evs := genAccessLog(1)
	for style, name := range []string{"rfc3339", "epoch-ms", "epoch-s"} {
		t.Run(name, func(t *testing.T) {
			var in strings.Builder
			for i, e := range evs {
				in.WriteString(e.json(style))
				in.WriteString("\n")
				if i == 10 {
					in.WriteString("{not json\n\n")
					in.WriteString(`{"tenant":"no time"}` + "\n")
				}
			}
			dir := t.TempDir()
			var table bytes.Buffer
			sum, err := Run(Config{
				Rules: []*contrib.Rule{rule(t, "by-tenant", jsonRule)}, Format: decode.JSON, TimeField: "$.ts",
				Contrib: contrib.Options{TopN: 3}, OutDir: dir, Gzip: style == 1,
			}, strings.NewReader(in.String()), &table)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Events != len(evs) || sum.Malformed != 1 || sum.NoTime != 1 || sum.Windows != 2 || sum.Reports != 2 {
				t.Fatalf("summary %+v", sum)
			}
			for m, want := range wantTop {
				w := pipeline.Window{Start: t0.Add(time.Duration(m) * time.Minute), End: t0.Add(time.Duration(m+1) * time.Minute)}
				r := readReport(t, dir, "by-tenant", w, style == 1)
				if got := topOf(r, 3, 1); !reflect.DeepEqual(got, want) {
					t.Errorf("minute %d: top %v, want %v", m, got, want)
				}
				wantSamples := []float64{100 + 150, 55 + 150}[m] // heavy GETs + the tail
				if r.ApproximateUniqueCount != 3+150 || r.MetricDatapoints[0].SampleCount != wantSamples {
					t.Errorf("minute %d: unique %d samples %v", m, r.ApproximateUniqueCount, r.MetricDatapoints[0].SampleCount)
				}
			}
			squeezed := strings.Join(strings.Fields(table.String()), " ")
			for _, line := range []string{"rule by-tenant 2026-11-21T13:00:00Z .. 2026-11-21T13:01:00Z Count 250",
				"# $.tenant value ±error 1 t-0001 50 0 2 t-0002 30 0 3 t-0003 20 0", "1 t-0003 40 0"} {
				if !strings.Contains(squeezed, line) {
					t.Errorf("table lacks %q:\n%s", line, table.String())
				}
			}
		})
	}
}

func TestReplayCLF(t *testing.T) {
	evs := genAccessLog(2)
	var in strings.Builder
	for _, e := range evs {
		in.WriteString(e.clf())
		in.WriteString("\n")
	}
	dir := t.TempDir()
	sum, err := Run(Config{
		Rules: []*contrib.Rule{rule(t, "bytes-by-user", clfRule)}, Format: decode.CLF,
		Contrib: contrib.Options{TopN: 3}, OutDir: dir,
	}, strings.NewReader(in.String()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != len(evs) || sum.Windows != 2 {
		t.Fatalf("summary %+v", sum)
	}
	for m, want := range wantTop {
		w := pipeline.Window{Start: t0.Add(time.Duration(m) * time.Minute), End: t0.Add(time.Duration(m+1) * time.Minute)}
		r := readReport(t, dir, "bytes-by-user", w, false)
		if got := topOf(r, 3, 100); !reflect.DeepEqual(got, want) { // 100 bytes per heavy request
			t.Errorf("minute %d: top %v, want %v", m, got, want)
		}
	}
}

// Windows are written in time order whatever order the lines came in, and a line two periods
// behind the newest still counts in its window.
func TestReplayOrderAndErrors(t *testing.T) {
	r := rule(t, "by-tenant", jsonRule)
	lines := []string{
		`{"ts":"2026-11-21T13:00:10Z","tenant":"a","method":"GET"}`,
		`{"ts":"2026-11-21T13:02:30Z","tenant":"b","method":"GET"}`,
		`{"ts":"2026-11-21T13:00:20Z","tenant":"c","method":"GET"}`, // more than a period behind
		`{"ts":"2026-11-21T13:01:59Z","tenant":"d","method":"GET"}`,
	}
	var table bytes.Buffer
	sum, err := Run(Config{Rules: []*contrib.Rule{r}, Format: decode.JSON, TimeField: "$.ts"}, strings.NewReader(strings.Join(lines, "\n")), &table)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 4 || sum.Windows != 3 {
		t.Fatalf("summary %+v", sum)
	}
	// Windows are written in time order.
	sc := bufio.NewScanner(&table)
	var starts []string
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 2 && f[0] == "rule" {
			starts = append(starts, f[2])
		}
	}
	if !reflect.DeepEqual(starts, []string{"2026-11-21T13:00:00Z", "2026-11-21T13:01:00Z", "2026-11-21T13:02:00Z"}) {
		t.Fatalf("window order %v", starts)
	}

	if _, err := Run(Config{Rules: []*contrib.Rule{r}, Format: decode.JSON}, strings.NewReader(""), nil); err == nil {
		t.Error("JSON without a time field accepted")
	}
	if _, err := Run(Config{Rules: []*contrib.Rule{r}, Format: decode.CLF}, strings.NewReader(""), nil); err == nil || !strings.Contains(err.Error(), `rule "by-tenant"`) {
		t.Errorf("JSON rule on CLF events: %v", err)
	}
}

// A file whose lines are in no order at all counts every line in the window its time says, as
// CloudWatch Contributor Insights would: ten minutes of events shuffled over the whole file.
// Replay once wrote a window as soon as the events were a period past it and counted what came
// later as late: a window of 514 events out of order by more than that reported 2. With at
// most 3 windows in memory the others are spilled to disk and read back, with the same counts.
func TestReplayUnsortedFileCountsEveryLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type line struct {
		at     time.Time
		tenant string
	}
	var lines []line
	exact := map[int]map[string]int{}
	for range 5000 {
		at := t0.Add(time.Duration(rng.Int64N(int64(10 * time.Minute))))
		tenant := fmt.Sprintf("t-%d", rng.IntN(5)) // few keys: top counts are exact
		lines = append(lines, line{at, tenant})
		m := int(at.Sub(t0) / time.Minute)
		if exact[m] == nil {
			exact[m] = map[string]int{}
		}
		exact[m][tenant]++
	}
	var in strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&in, `{"ts":%q,"tenant":%q,"method":"GET"}`+"\n", l.at.Format(time.RFC3339Nano), l.tenant)
	}
	for _, maxOpen := range []int{0, 3} {
		t.Run(fmt.Sprint("max-open-", maxOpen), func(t *testing.T) {
			dir := t.TempDir()
			sum, err := Run(Config{Rules: []*contrib.Rule{rule(t, "by-tenant", jsonRule)}, Format: decode.JSON,
				TimeField: "$.ts", Contrib: contrib.Options{TopN: 5}, OutDir: dir, MaxOpenWindows: maxOpen},
				strings.NewReader(in.String()), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Events != len(lines) || sum.Windows != 10 {
				t.Fatalf("summary %+v, want %d events in 10 windows", sum, len(lines))
			}
			if maxOpen > 0 && sum.Spilled == 0 {
				t.Errorf("nothing spilled with at most %d windows open", maxOpen)
			}
			for m := range 10 {
				w := pipeline.Window{Start: t0.Add(time.Duration(m) * time.Minute), End: t0.Add(time.Duration(m+1) * time.Minute)}
				r := readReport(t, dir, "by-tenant", w, false)
				total := 0
				for _, n := range exact[m] {
					total += n
				}
				if got := r.MetricDatapoints[0].SampleCount; got != float64(total) {
					t.Errorf("minute %d: %v events counted, want %d", m, got, total)
				}
				for _, c := range r.Contributors {
					if want := exact[m][c.Keys[0]]; c.ApproximateAggregateValue != float64(want) {
						t.Errorf("minute %d: %s counted %v, want %d", m, c.Keys[0], c.ApproximateAggregateValue, want)
					}
				}
			}
		})
	}
}
