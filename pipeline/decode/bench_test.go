package decode

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/internal/benchclock"
)

// accessLog is the ~200-byte access-log record the benchmarks decode.
const accessLog = `{"ts":"2026-11-21T13:00:00.123Z","tenant":"t-0042","user":"u-1234","path":"/api/v1/items","method":"GET","status":200,"bytes":5123,"latency_ms":12.5}`

// accessLogFields are three fields from the record: two contributor keys and a value, the last
// one at the end of the document so the scan cannot stop early.
var accessLogFields = []string{"$.tenant", "$.path", "$.latency_ms"}

func accessLogMsgpack(t testing.TB) []byte {
	return eventMsgpack(t, "2026-11-21T13:00:00.123Z", "/api/v1/items", 5123, 12.5)
}

// eventMsgpack encodes an access-log event like the demo source's Event.Msgpack: members in the
// JSON documents' order (a struct keeps it), ints as the smallest msgpack int that holds them,
// the latency as a float64.
func eventMsgpack(t testing.TB, ts, path string, bytes int, latencyMS float64) []byte {
	rec := struct {
		TS        string  `msgpack:"ts"`
		Tenant    string  `msgpack:"tenant"`
		User      string  `msgpack:"user"`
		Path      string  `msgpack:"path"`
		Method    string  `msgpack:"method"`
		Status    int     `msgpack:"status"`
		Bytes     int     `msgpack:"bytes"`
		LatencyMS float64 `msgpack:"latency_ms"`
	}{ts, "t-0042", "u-1234", path, "GET", 200, bytes, latencyMS}
	data, err := msgpack.Marshal(&rec)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeNoAlloc(t *testing.T) {
	escaped := []byte(`{"tenant":"t-\u0030042","path":"/api/v1/\"items\"","latency_ms":12.5,"x":[{"y":"z"}]}`)
	clfLine := []byte(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326`)
	cases := []struct {
		f       Format
		paths   []string
		payload []byte
	}{
		{JSON, accessLogFields, []byte(accessLog)},
		{JSON, accessLogFields, escaped},
		{Msgpack, accessLogFields, accessLogMsgpack(t)},
		{CLF, []string{"1", "4", "6"}, clfLine},
	}
	for _, tc := range cases {
		_, d, out := plan(t, tc.f, tc.paths...)
		if err := d.Decode(tc.payload, out); err != nil { // grows the scratch once
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if err := d.Decode(tc.payload, out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v %.30q: %v allocations per Decode", tc.f, tc.payload, allocs)
		}
		for i, v := range out {
			if v.Kind == Missing {
				t.Errorf("%v: field %d missing", tc.f, i)
			}
		}
	}
}

func TestAccessLogSameInBothFormats(t *testing.T) {
	_, dj, oj := plan(t, JSON, accessLogFields...)
	_, dm, om := plan(t, Msgpack, accessLogFields...)
	if err := dj.Decode([]byte(accessLog), oj); err != nil {
		t.Fatal(err)
	}
	if err := dm.Decode(accessLogMsgpack(t), om); err != nil {
		t.Fatal(err)
	}
	for i := range oj {
		if oj[i].Kind != om[i].Kind || string(oj[i].Bytes) != string(om[i].Bytes) || oj[i].Num != om[i].Num {
			t.Errorf("field %d: json %v %q, msgpack %v %q", i, oj[i].Kind, oj[i].Bytes, om[i].Kind, om[i].Bytes)
		}
	}
}

func benchDecode(b *testing.B, f Format, payload []byte, paths []string) {
	_, d, out := plan(b, f, paths...)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	clock := benchclock.Start()
	for b.Loop() {
		if err := d.Decode(payload, out); err != nil {
			b.Fatal(err)
		}
	}
	clock.Report(b)
}

func BenchmarkDecodeJSONAccessLog(b *testing.B) {
	benchDecode(b, JSON, []byte(accessLog), accessLogFields)
}

func BenchmarkDecodeMsgpackAccessLog(b *testing.B) {
	benchDecode(b, Msgpack, accessLogMsgpack(b), accessLogFields)
}

func BenchmarkDecodeCLF(b *testing.B) {
	line := []byte(`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`)
	benchDecode(b, CLF, line, []string{"1", "5", "7"})
}

// runtimeLog and runtimeFields are what the worker decodes on its hot path: the demo source's
// event (sources/demo AppendJSON) and the plan of the standard pipeline, which wants every
// member but latency_ms, so the scan stops after "bytes".
const runtimeLog = `{"ts":"2026-11-21T08:00:00.123Z","tenant":"t-0042","user":"u-1234","path":"/api/v1/items/{id}","method":"GET","status":200,"bytes":1234,"latency_ms":12.3}`

var runtimeFields = []string{"$.ts", "$.tenant", "$.user", "$.path", "$.method", "$.status", "$.bytes"}

func BenchmarkDecodeJSONRuntime(b *testing.B) {
	benchDecode(b, JSON, []byte(runtimeLog), runtimeFields)
}

// runtimeMsgpack is runtimeLog in msgpack.
func runtimeMsgpack(t testing.TB) []byte {
	return eventMsgpack(t, "2026-11-21T08:00:00.123Z", "/api/v1/items/{id}", 1234, 12.3)
}

// BenchmarkDecodeMsgpackRuntime is BenchmarkDecodeJSONRuntime's record and plan in msgpack, for
// a like-for-like comparison of the two scanners.
func BenchmarkDecodeMsgpackRuntime(b *testing.B) {
	benchDecode(b, Msgpack, runtimeMsgpack(b), runtimeFields)
}

// BenchmarkDecodeJSONRuntimeTime is the runner's per-record work in the decoder package: decode
// the fields, then parse the event time.
func BenchmarkDecodeJSONRuntimeTime(b *testing.B) {
	_, d, out := plan(b, JSON, runtimeFields...)
	payload := []byte(runtimeLog)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	clock := benchclock.Start()
	for b.Loop() {
		if err := d.Decode(payload, out); err != nil {
			b.Fatal(err)
		}
		if _, err := out[0].Time(); err != nil {
			b.Fatal(err)
		}
	}
	clock.Report(b)
}

func BenchmarkValueTimeRFC3339(b *testing.B) {
	for _, s := range []string{"2026-11-21T08:00:00.123Z", "2026-11-21T08:00:00.123456789+01:00"} {
		v := Value{Kind: String, Bytes: []byte(s)}
		b.Run(s[19:], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Time(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
