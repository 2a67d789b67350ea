package load

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func sampleReport() *Report {
	return &Report{
		V: Version, Worker: "task-1", Start: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano(),
		Seconds: 60, VCPUs: 2, Records: 120000, CPUSeconds: 51.5,
		Partitions: []Partition{
			{Stream: "events", ID: "0", Records: 100000, Seconds: 60, MillisBehind: Unknown, MillisBehindStart: Unknown},
			{Stream: "events", ID: "7", Records: 20000, Seconds: 31.5, MillisBehind: Unknown, MillisBehindStart: Unknown},
		},
	}
}

func TestReportRoundTrip(t *testing.T) {
	r := sampleReport()
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Worker != r.Worker || got.Start != r.Start || got.Seconds != r.Seconds || got.VCPUs != r.VCPUs ||
		got.Records != r.Records || got.CPUSeconds != r.CPUSeconds || len(got.Partitions) != 2 || got.Partitions[1] != r.Partitions[1] {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

// A damaged or foreign object is refused, naming what is wrong, never handed to the sizing.
func TestDecodeRefuses(t *testing.T) {
	good, _ := Encode(sampleReport())
	mutate := func(f func(*Report)) []byte {
		r := sampleReport()
		f(r)
		b, err := msgpack.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "EOF"},
		{"trailing bytes", append(append([]byte{}, good...), 0xc0), "after the report"},
		{"another version", mutate(func(r *Report) { r.V = 2 }), "version"},
		{"no worker", mutate(func(r *Report) { r.Worker = "" }), "no worker"},
		{"zero seconds", mutate(func(r *Report) { r.Seconds = 0 }), "seconds"},
		{"NaN vcpus", mutate(func(r *Report) { r.VCPUs = math.NaN() }), "vcpus"},
		{"negative records", mutate(func(r *Report) { r.Records = -1 }), "records"},
		{"negative cpu", mutate(func(r *Report) { r.CPUSeconds = -2 }), "cpu seconds"},
		{"infinite cpu", mutate(func(r *Report) { r.CPUSeconds = math.Inf(1) }), "cpu seconds"},
		{"partition twice", mutate(func(r *Report) { r.Partitions[1].ID = "0" }), "twice"},
		{"partition without id", mutate(func(r *Report) { r.Partitions[0].ID = "" }), "without id"},
		{"negative partition seconds", mutate(func(r *Report) { r.Partitions[0].Seconds = -1 }), "seconds"},
		{"millis behind below unknown", mutate(func(r *Report) { r.Partitions[0].MillisBehind = -5 }), "millis behind"},
		{"millis behind read before 1970", mutate(func(r *Report) { r.Partitions[0].MillisBehindStartAt = -5 }), "read at"},
		{"not msgpack of a report", []byte{0x92, 0x01, 0x02}, "load report"},
	}
	for _, c := range cases {
		_, err := Decode(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Decode = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := Decode(mutate(func(r *Report) { r.V = 9 })); !errors.Is(err, ErrVersion) {
		t.Errorf("another version: %v, want ErrVersion", err)
	}
	// CPU -1 is "not measured", a valid report.
	if _, err := Decode(mutate(func(r *Report) { r.CPUSeconds = -1 })); err != nil {
		t.Errorf("unmeasured CPU refused: %v", err)
	}
	if _, err := Encode(&Report{V: Version}); err == nil {
		t.Error("Encode wrote an invalid report")
	}
}

// The times of the MillisBehind reads came after the format's first reports: in a rolling
// deploy the aggregator reads reports of both builds, so neither may refuse the other's.
func TestReportReadTimesAreOptional(t *testing.T) {
	// The partition of a build before the read times, as it encoded it.
	type oldPartition struct {
		Stream            string  `msgpack:"stream"`
		ID                string  `msgpack:"id"`
		Records           int64   `msgpack:"records"`
		Seconds           float64 `msgpack:"seconds"`
		MillisBehind      int64   `msgpack:"millis_behind"`
		MillisBehindStart int64   `msgpack:"millis_behind_start"`
	}
	type oldReport struct {
		V          int            `msgpack:"v"`
		Worker     string         `msgpack:"worker"`
		Start      int64          `msgpack:"start"`
		Seconds    float64        `msgpack:"seconds"`
		VCPUs      float64        `msgpack:"vcpus"`
		Records    int64          `msgpack:"records"`
		CPUSeconds float64        `msgpack:"cpu_seconds"`
		Partitions []oldPartition `msgpack:"partitions"`
	}
	old := oldReport{V: 1, Worker: "task-old", Start: 1, Seconds: 60, VCPUs: 1, Records: 10, CPUSeconds: -1,
		Partitions: []oldPartition{{Stream: "orders", ID: "shardId-0", Records: 10, Seconds: 60, MillisBehind: 2000, MillisBehindStart: 3000}}}
	b, err := msgpack.Marshal(&old)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(b)
	if err != nil {
		t.Fatalf("an older build's report refused: %v", err)
	}
	if p := r.Partitions[0]; p.MillisBehind != 2000 || p.MillisBehindStart != 3000 || p.MillisBehindAt != 0 || p.MillisBehindStartAt != 0 {
		t.Errorf("older report read as %+v, want the readings without their times", p)
	}

	// This build's report, as an older build decodes it: the times are skipped.
	now := sampleReport()
	now.Partitions[0].MillisBehind, now.Partitions[0].MillisBehindAt = 2000, 5e18
	b, err = Encode(now)
	if err != nil {
		t.Fatal(err)
	}
	var back oldReport
	if err := msgpack.Unmarshal(b, &back); err != nil {
		t.Fatalf("an older build cannot read this build's report: %v", err)
	}
	if back.Partitions[0].MillisBehind != 2000 || back.Records != now.Records {
		t.Errorf("older build read %+v", back)
	}
}

// Decode never panics and never accepts what Encode would refuse.
func FuzzDecode(f *testing.F) {
	good, _ := Encode(sampleReport())
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := Encode(r); err != nil {
			t.Fatalf("Decode accepted a report Encode refuses: %v", err)
		}
	})
}
