package ecs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func metadataServer(t *testing.T, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v4/0123/task" {
			t.Errorf("metadata got %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v4/0123"
}

// Trimmed from the shape of a Fargate v4 /task answer.
const fargateTask = `{
  "Cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/weir-prod",
  "TaskARN": "arn:aws:ecs:eu-west-1:111122223333:task/weir-prod/5f2c8d7a9b6e4c3d8e1f0a2b3c4d5e6f",
  "Family": "weir-worker", "Revision": "7", "DesiredStatus": "RUNNING", "KnownStatus": "RUNNING",
  "AvailabilityZone": "eu-west-1b", "LaunchType": "FARGATE",
  "Limits": {"CPU": 0.5, "Memory": 1024},
  "Containers": [{"Name": "worker"}]
}`

func TestReadTaskMetadata(t *testing.T) {
	md, ok, err := ReadTaskMetadata(context.Background(), nil, metadataServer(t, 200, fargateTask))
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	want := TaskMetadata{
		TaskARN: "arn:aws:ecs:eu-west-1:111122223333:task/weir-prod/5f2c8d7a9b6e4c3d8e1f0a2b3c4d5e6f",
		TaskID:  "5f2c8d7a9b6e4c3d8e1f0a2b3c4d5e6f", Cluster: "weir-prod", Family: "weir-worker",
		Revision: "7", AvailabilityZone: "eu-west-1b", LaunchType: "FARGATE", CPULimit: 0.5,
	}
	if md != want {
		t.Fatalf("got %+v\nwant %+v", md, want)
	}
}

func TestReadTaskMetadataOldARNAndClusterName(t *testing.T) {
	body := `{"Cluster":"default","TaskARN":"arn:aws:ecs:us-east-1:1:task/abc123","Family":"f","Revision":"1"}`
	md, ok, err := ReadTaskMetadata(context.Background(), nil, metadataServer(t, 200, body))
	if err != nil || !ok || md.TaskID != "abc123" || md.Cluster != "default" {
		t.Fatalf("%+v %v %v", md, ok, err)
	}
}

func TestReadTaskMetadataNotOnECS(t *testing.T) {
	md, ok, err := ReadTaskMetadata(context.Background(), nil, "")
	if err != nil || ok || md != (TaskMetadata{}) {
		t.Fatalf("%+v %v %v", md, ok, err)
	}
}

func TestReadTaskMetadataErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
		status           int
	}{
		{"server error", `internal`, "HTTP 500", 500},
		{"not json", `<html>`, "invalid character", 200},
		{"not a task ARN", `{"TaskARN":"arn:aws:ecs:eu-west-1:1:cluster/x"}`, "not a task ARN", 200},
		{"empty task id", `{"TaskARN":"arn:aws:ecs:eu-west-1:1:task/weir/"}`, "no task id", 200},
	}
	for _, tt := range tests {
		_, ok, err := ReadTaskMetadata(context.Background(), nil, metadataServer(t, tt.status, tt.body))
		if ok || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ok %v err %v, want %q", tt.name, ok, err, tt.want)
		}
	}
}
