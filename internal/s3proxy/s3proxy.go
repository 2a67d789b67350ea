// Package s3proxy stands in front of an S3 endpoint (moto) in tests and records every request
// that reaches it: the operation as S3 bills it, the object key (or the listing's prefix and
// start), the answer's status, and when it came and was answered. It counts from the wire, so
// a test can check weir's own request metrics against it and measure what a fleet costs in
// requests without trusting the code under test. It expects path-style requests (weir's
// clients use path style whenever an endpoint is set).
package s3proxy

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The operations a request is classified as. The first seven are weir_s3_requests_total's ops.
const (
	Put               = "put"
	Get               = "get"
	List              = "list"
	CreateMultipart   = "create_multipart"
	UploadPart        = "upload_part"
	CompleteMultipart = "complete_multipart"
	AbortMultipart    = "abort_multipart"
	Head              = "head"
	Delete            = "delete"
	Other             = "other" // anything else (bucket operations, copies, ACLs…)
)

// Request is one request that reached the proxy.
type Request struct {
	Op     string
	Bucket string
	// Key is the object's key; for a listing, its prefix.
	Key string
	// StartAfter is a listing's start-after parameter.
	StartAfter  string
	Status      int
	Start, Done time.Time
}

// Kind returns the value of the key's first "kind=" segment ("partial", "summary", …), or "".
func (r Request) Kind() string {
	for seg := range strings.SplitSeq(r.Key, "/") {
		if k, ok := strings.CutPrefix(seg, "kind="); ok {
			return k
		}
	}
	return ""
}

// Proxy is a recording reverse proxy.
type Proxy struct {
	srv *httptest.Server

	mu   sync.Mutex
	reqs []Request
}

// Start starts a proxy to target (an endpoint URL) on a free loopback port, stopped when the
// test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // the host is part of the request's signature
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := classify(req)
		rec.Start = time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, req)
		rec.Status, rec.Done = sw.status, time.Now()
		p.mu.Lock()
		p.reqs = append(p.reqs, rec)
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// Endpoint is the URL to point an S3 client at.
func (p *Proxy) Endpoint() string { return p.srv.URL }

// Requests returns the requests answered so far, in the order they were answered.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Count returns the requests answered so far by op.
func (p *Proxy) Count() map[string]int {
	n := map[string]int{}
	for _, r := range p.Requests() {
		n[r.Op]++
	}
	return n
}

func classify(req *http.Request) Request {
	path := strings.TrimPrefix(req.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := req.URL.Query()
	r := Request{Op: Other, Bucket: bucket, Key: key}
	_, upload := q["uploadId"]
	switch req.Method {
	case http.MethodGet:
		switch {
		case key == "" && q.Get("list-type") == "2":
			r.Op, r.Key, r.StartAfter = List, q.Get("prefix"), q.Get("start-after")
		case key != "" && !upload && !q.Has("acl") && !q.Has("tagging"):
			r.Op = Get
		}
	case http.MethodPut:
		switch {
		case key == "" || req.Header.Get("X-Amz-Copy-Source") != "":
		case upload && q.Has("partNumber"):
			r.Op = UploadPart
		case !q.Has("acl") && !q.Has("tagging"):
			r.Op = Put
		}
	case http.MethodPost:
		switch {
		case key != "" && q.Has("uploads"):
			r.Op = CreateMultipart
		case key != "" && upload:
			r.Op = CompleteMultipart
		case q.Has("delete"):
			r.Op = Delete
		}
	case http.MethodDelete:
		switch {
		case key != "" && upload:
			r.Op = AbortMultipart
		case key != "":
			r.Op = Delete
		}
	case http.MethodHead:
		r.Op = Head
	}
	return r
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
