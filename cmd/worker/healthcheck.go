package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck is `weir healthcheck [URL]`: it GETs the worker's /healthz (default
// http://127.0.0.1:8080/healthz) and exits 0 only on 200: the worker is live, not stalled with
// lag (see worker.HealthConfig). The container image has no shell or curl, so the ECS health
// check runs this.
func runHealthcheck(args []string, stderr io.Writer) int {
	url := "http://127.0.0.1:8080/healthz"
	if len(args) > 0 {
		url = args[0]
		if !strings.HasPrefix(url, "http") {
			url = "http://" + url + "/healthz"
		}
	}
	cl := http.Client{Timeout: 3 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body says why (the stall, with the lag it holds back); ECS keeps the output of
		// failed health checks with the task's health status.
		why, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		fmt.Fprintf(stderr, "healthcheck: %s: %s\n", resp.Status, strings.TrimSpace(string(why)))
		return 1
	}
	return 0
}
