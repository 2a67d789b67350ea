package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// observedCall is one request the worker really sent, as IAM would see it.
type observedCall struct {
	call     string // service:Operation, as in PERMISSIONS.md
	resource string // the ARN the request names; "" when it names none (then the table's applies)
	context  map[string]string
	status   int // the HTTP status it got (AWS calls only)
}

func (c observedCall) String() string {
	s := c.call
	if c.resource != "" {
		s += " on " + c.resource
	}
	if len(c.context) > 0 {
		s += fmt.Sprintf(" with %v", c.context)
	}
	return s
}

// awsRecorder is a reverse proxy in front of moto that records every AWS request passing
// through it. The worker is pointed at it with AWS_ENDPOINT_URL, the SDK's own variable, so
// its configuration stays exactly the template's.
type awsRecorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []observedCall
	bad []string // requests the recorder could not classify
}

func startAWSRecorder(t *testing.T, upstream string) *awsRecorder {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	r := &awsRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, req)
		call, err := classifyAWS(req, body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err.Error())
			return
		}
		call.status = sw.status
		r.got = append(r.got, call)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *awsRecorder) calls() ([]observedCall, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observedCall(nil), r.got...), append([]string(nil), r.bad...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// The signing service is the surest name of the service a request is for.
var credentialScope = regexp.MustCompile(`Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// classifyAWS names the operation a request is, with the resource and the condition keys IAM
// evaluates it with. It knows the protocols and operations the worker's services use and
// refuses anything else, so a new kind of call cannot pass unexamined.
func classifyAWS(req *http.Request, body []byte) (observedCall, error) {
	m := credentialScope.FindStringSubmatch(req.Header.Get("Authorization"))
	if m == nil {
		return observedCall{}, fmt.Errorf("unsigned request %s %s", req.Method, req.URL)
	}
	region, service := m[1], m[2]
	c := observedCall{context: map[string]string{}}
	switch service {
	case "s3":
		return classifyS3(req)
	case "dynamodb", "kinesis":
		target := req.Header.Get("X-Amz-Target")
		_, op, ok := strings.Cut(target, ".")
		if !ok {
			return c, fmt.Errorf("%s request without X-Amz-Target: %s %s", service, req.Method, req.URL)
		}
		c.call = service + ":" + op
		var in struct{ TableName, TableArn, StreamName, StreamARN string }
		if err := json.Unmarshal(body, &in); err != nil {
			return c, fmt.Errorf("%s: %v", c.call, err)
		}
		switch {
		case in.TableArn != "":
			c.resource = in.TableArn
		case in.TableName != "":
			c.resource = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, testAccount, in.TableName)
		case in.StreamARN != "":
			c.resource = in.StreamARN
		case in.StreamName != "":
			c.resource = fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", region, testAccount, in.StreamName)
		}
		return c, nil
	case "monitoring":
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("Action") == "" {
			return c, fmt.Errorf("CloudWatch request that is not awsQuery (%s %s): the recorder cannot read its namespace", req.Method, req.URL)
		}
		c.call = "cloudwatch:" + form.Get("Action")
		c.resource = "*"
		if ns := form.Get("Namespace"); ns != "" {
			c.context["cloudwatch:namespace"] = ns
		}
		return c, nil
	}
	return c, fmt.Errorf("request for service %q, which the recorder does not know: %s %s", service, req.Method, req.URL)
}

// classifyS3 reads a path-style S3 request.
func classifyS3(req *http.Request) (observedCall, error) {
	c := observedCall{context: map[string]string{}}
	path := strings.TrimPrefix(req.URL.Path, "/")
	bucket, key, hasKey := strings.Cut(path, "/")
	if bucket == "" {
		return c, fmt.Errorf("S3 request without a bucket: %s %s", req.Method, req.URL)
	}
	q := req.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	op := ""
	if !hasKey || key == "" {
		c.resource = "arn:aws:s3:::" + bucket
		switch {
		case req.Method == http.MethodHead:
			op = "HeadBucket"
		case req.Method == http.MethodGet && q.Get("list-type") == "2":
			op = "ListObjectsV2"
		case req.Method == http.MethodGet && len(q) == 0 || req.Method == http.MethodGet && (has("prefix") || has("marker")):
			op = "ListObjects"
		}
		for _, k := range []string{"prefix", "delimiter", "max-keys"} {
			if has(k) {
				c.context["s3:"+k] = q.Get(k)
			}
		}
	} else {
		c.resource = "arn:aws:s3:::" + bucket + "/" + key
		switch {
		case req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "":
			op = "CopyObject"
		case req.Method == http.MethodPut && has("partNumber") && has("uploadId"):
			op = "UploadPart"
		case req.Method == http.MethodPut && len(q) <= 1 && (len(q) == 0 || has("x-id")):
			op = "PutObject"
		case req.Method == http.MethodPost && has("uploads"):
			op = "CreateMultipartUpload"
		case req.Method == http.MethodPost && has("uploadId"):
			op = "CompleteMultipartUpload"
		case req.Method == http.MethodDelete && has("uploadId"):
			op = "AbortMultipartUpload"
		case req.Method == http.MethodDelete:
			op = "DeleteObject"
		case req.Method == http.MethodGet && has("uploadId"):
			op = "ListParts"
		case req.Method == http.MethodGet:
			op = "GetObject"
		case req.Method == http.MethodHead:
			op = "HeadObject"
		}
		for h, k := range map[string]string{
			"X-Amz-Server-Side-Encryption":                "s3:x-amz-server-side-encryption",
			"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "s3:x-amz-server-side-encryption-aws-kms-key-id",
		} {
			if v := req.Header.Get(h); v != "" {
				c.context[k] = v
			}
		}
	}
	if op == "" {
		return c, fmt.Errorf("S3 request the recorder cannot name: %s %s", req.Method, req.URL)
	}
	c.call = "s3:" + op
	return c, nil
}

// checkObserved judges calls the worker really made: each must be a call PERMISSIONS.md lists
// for this environment, on a resource its row allows for, carrying exactly the condition keys
// the row says; and the stack's task role must allow it as sent. S3 adds one rule of its own:
// a GetObject or HeadObject of a missing key is answered 403 instead of 404 unless the caller
// may also list the bucket, which the worker needs to tell "nothing saved yet" from "denied".
func checkObserved(t *testing.T, s *stack, perms []permission, calls []observedCall) {
	t.Helper()
	policy, env, values := s.taskRolePolicy(t), s.environment(t), s.values()
	seen := map[string]bool{}
	for _, c := range calls {
		var rows []permission
		for _, p := range perms {
			if p.call == c.call {
				rows = append(rows, p)
			}
		}
		key := fmt.Sprint(c.String(), c.status)
		if seen[key] {
			continue
		}
		seen[key] = true
		if len(rows) == 0 {
			t.Errorf("the worker sent %v, which PERMISSIONS.md does not list", c)
			continue
		}
		byAction := map[string][]permission{}
		for _, p := range rows {
			if p.applies(env) {
				byAction[p.action] = append(byAction[p.action], p)
			}
		}
		if len(byAction) == 0 {
			t.Errorf("the worker sent %v, which PERMISSIONS.md lists only for other environments (%v)", c, rows[0].when)
		}
		for action, group := range byAction {
			if action == "" {
				continue
			}
			r, err := observedRequest(c, action, group, values)
			if err != nil {
				t.Error(err)
				continue
			}
			ok, why, err := evaluate(policy, r)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("the task role denies %v, which the worker sent (%v): %s", r, c, why)
			}
		}
		if (c.call == "s3:GetObject" || c.call == "s3:HeadObject") && c.status == http.StatusNotFound {
			bucket, _, _ := strings.Cut(c.resource, "/")
			r := request{action: "s3:ListBucket", resource: bucket, context: map[string]string{}}
			if ok, why, _ := evaluate(policy, r); !ok {
				t.Errorf("the worker asked for a missing key (%v): on AWS it gets 403, not 404, because the task role denies %v (%s)", c, r, why)
			}
		}
	}
}

// observedRequest is the authorization request for one action of a recorded call: the
// resource the request names (the bucket, for a bucket-level action on an object request),
// else the row's, and the condition keys the request carried, which must be the row's.
func observedRequest(c observedCall, action string, rows []permission, values map[string]string) (request, error) {
	var firstErr error
	for _, p := range rows {
		want, err := p.request(values)
		if err != nil {
			return request{}, err
		}
		pattern := placeholder.ReplaceAllStringFunc(p.resource, func(m string) string { return values[m[2:len(m)-1]] })
		resource := c.resource
		if strings.HasPrefix(resource, "arn:aws:s3:::") && !strings.Contains(strings.TrimPrefix(pattern, "arn:aws:s3:::"), "/") {
			resource, _, _ = strings.Cut(resource, "/")
		}
		if resource == "" {
			resource = want.resource
		}
		if !wildcard(pattern, resource, false) {
			if firstErr == nil {
				firstErr = fmt.Errorf("the worker sent %v, on a resource outside PERMISSIONS.md's %s for %s", c, pattern, action)
			}
			continue
		}
		if err := contextMatches(c, p, values); err != nil {
			// Another row of the same call and resource may be the one (a listing of the
			// partials and one of the state carry different prefixes).
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return request{action: action, resource: resource, context: c.context}, nil
	}
	return request{}, firstErr
}

// contextMatches checks that the call carried exactly the condition keys row p lists, with
// its values.
func contextMatches(c observedCall, p permission, values map[string]string) error {
	for k, v := range p.context {
		got, ok := lookup(c.context, k)
		wantV := placeholder.ReplaceAllStringFunc(v, func(m string) string { return values[m[2:len(m)-1]] })
		if !ok || !wildcard(wantV, got, false) {
			return fmt.Errorf("%v: PERMISSIONS.md:%d says the request carries %s=%s, it carried %q", c, p.line, k, wantV, got)
		}
	}
	for k := range c.context {
		if _, ok := lookup(p.context, k); !ok {
			return fmt.Errorf("%v carries condition key %s, which PERMISSIONS.md:%d does not list", c, k, p.line)
		}
	}
	return nil
}
