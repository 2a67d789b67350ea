package layout

import (
	"strings"
	"testing"
	"time"
)

func TestLoadKey(t *testing.T) {
	start := time.Date(2026, 11, 21, 14, 0, 0, 0, time.FixedZone("x", 3600))
	got := LoadKey(start, "ip-10-0-1-7/3f2a")
	want := "kind=load/t=20261121T130000Z/worker=ip-10-0-1-7%2F3f2a.msgpack"
	if got != want {
		t.Fatalf("LoadKey:\n got %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(got, LoadPeriodPrefix(start)) || !strings.HasPrefix(got, LoadPrefix) {
		t.Error("the key is not under its period's prefix")
	}
	s, w, ok := ParseLoadKey(got)
	if !ok || !s.Equal(start) || w != "ip-10-0-1-7/3f2a" {
		t.Errorf("ParseLoadKey = %v %q %v", s, w, ok)
	}
}

func TestParseLoadKeyRefuses(t *testing.T) {
	good := LoadKey(time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC), "w1")
	for _, k := range []string{
		"",
		strings.Replace(good, "load", "partial", 1),
		strings.Replace(good, ".msgpack", ".json", 1),
		good + ".tmp-123",
		strings.Replace(good, "20261121T130000Z", "2026-11-21", 1),
		strings.Replace(good, "worker=w1", "worker=", 1),
		strings.Replace(good, "worker=w1", "worker=w%31", 1), // an escape Escape never writes
		strings.Replace(good, "/worker=", "/w=", 1),
	} {
		if _, _, ok := ParseLoadKey(k); ok {
			t.Errorf("ParseLoadKey(%q) accepted", k)
		}
	}
}
