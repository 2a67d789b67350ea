package scaling

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLatestServesSignal(t *testing.T) {
	var latest Latest
	latest.SetAggregator(true)
	mux := http.NewServeMux()
	mux.Handle("/v1/scaling", &latest)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/v1/scaling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("before any signal: %d %v, want 503 with Retry-After", res.StatusCode, res.Header)
	}

	in := Inputs{ArrivalRate: 7000, ProcessedRate: 7000, CPURate: 7, VCPUsPerTask: 1, LagSum: 1.2e6, CurrentTasks: 10, Partitions: 60}
	want := Evaluate(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), in, DefaultConfig())
	latest.Set(want)

	res, err = http.Get(srv.URL + "/v1/scaling")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d content-type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var raw map[string]any
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	dec := raw["decision"].(map[string]any)
	if dec["desired_tasks"] != 12.0 || dec["reason"] != "scale-out" ||
		raw["time"] != "2025-03-01T12:00:00Z" || raw["inputs"].(map[string]any)["lag_sum"] != 1.2e6 {
		t.Fatalf("unexpected body %v", raw)
	}

	res2, err := http.Post(srv.URL+"/v1/scaling", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusMethodNotAllowed || res2.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d allow %q", res2.StatusCode, res2.Header.Get("Allow"))
	}
}
