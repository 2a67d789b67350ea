package layout

import (
	"testing"
	"time"

	"github.com/weirstream/weir/pipeline"
)

func TestReportKeyIsHivePartitionedAndDeterministic(t *testing.T) {
	w := pipeline.Window{Start: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 13, 1, 0, 0, time.UTC)}
	got := ReportKey("report", "5xx by/tenant", w, "events-8p-1f2e", true)
	want := "kind=report/rule=5xx%20by%2Ftenant/dt=2026-11-21/hour=13/20261121T130000Z_20261121T130100Z_events-8p-1f2e.json.gz"
	if got != want {
		t.Errorf("ReportKey:\n got %s\nwant %s", got, want)
	}
	// A window given in another zone names the same object.
	loc := time.FixedZone("x", 5*3600)
	w2 := pipeline.Window{Start: w.Start.In(loc), End: w.End.In(loc)}
	if ReportKey("report", "5xx by/tenant", w2, "events-8p-1f2e", true) != want {
		t.Error("the key depends on the window's time zone")
	}
}

func TestRecordsKey(t *testing.T) {
	p := pipeline.Partition{Stream: "orders", ID: "shardId-000000000003"}
	got := RecordsKey("deadletter", p, pipeline.Position{Offset: 1, Seq: "4959", Sub: 2}, pipeline.Position{Offset: 9, Seq: "4960"},
		time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC), false)
	want := "kind=deadletter/stream=orders/dt=2026-11-21/hour=23/shardId-000000000003_4959%3A2_4960%3A0.json"
	if got != want {
		t.Errorf("RecordsKey:\n got %s\nwant %s", got, want)
	}
}

func FuzzEscapeIsInjective(f *testing.F) {
	f.Add("a", "b")
	f.Add("", "%")
	f.Add("a/b", "a%2Fb")
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := Escape(a), Escape(b)
		if a != b && ea == eb {
			t.Fatalf("Escape(%q) == Escape(%q) == %q", a, b, ea)
		}
		for i := 0; i < len(ea); i++ {
			if c := ea[i]; c == '/' || c == '=' || c == ' ' {
				t.Fatalf("Escape(%q) = %q keeps %q", a, ea, c)
			}
		}
	})
}

// The fleet aggregator's global reports have no owner: the key is the same from any aggregator.
func TestReportKeyWithoutOwner(t *testing.T) {
	w := pipeline.Window{Start: time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 13, 1, 0, 0, time.UTC)}
	got := ReportKey("summary", "fleet", w, "", false)
	want := "kind=summary/operator=fleet/dt=2026-11-21/hour=13/20261121T130000Z_20261121T130100Z.json"
	if got != want {
		t.Errorf("ReportKey:\n got %s\nwant %s", got, want)
	}
}
