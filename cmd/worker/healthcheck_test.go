package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The container health check exits 0 on 200 and 1 otherwise, printing why the worker said no.
func TestHealthcheck(t *testing.T) {
	status, body := http.StatusOK, "ok\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	var stderr bytes.Buffer
	if code := runHealthcheck([]string{srv.URL + "/healthz"}, &stderr); code != 0 {
		t.Errorf("200: exit %d (%s)", code, stderr.String())
	}
	status, body = http.StatusServiceUnavailable, "stalled: no record processed and no window made durable for 5m0s, with 42 records not yet committed on 2 partitions\n"
	stderr.Reset()
	if code := runHealthcheck([]string{strings.TrimPrefix(srv.URL, "http://")}, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "503 Service Unavailable: stalled: no record processed") {
		t.Errorf("503: exit %d, stderr %q", code, stderr.String())
	}
}
