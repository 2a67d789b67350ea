package s3

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// prefixScopedHTTP stands between the SDK and moto and answers the way S3 answers the deploy
// templates' task role, which may read and write only under one prefix and list only with an
// s3:prefix under it (deploy/PERMISSIONS.md): a HeadBucket is denied (it is s3:ListBucket with
// no s3:prefix), so is any request outside the prefix, and a GET or HEAD of a missing key gets
// 403 instead of 404 (S3 does not tell a caller that may not list the bucket whether a key
// exists). moto does not evaluate such a policy (its IAM mode ignores conditions), hence this.
type prefixScopedHTTP struct {
	next   *awshttp.BuildableClient
	bucket string
	prefix string
}

const accessDeniedXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>scoped</RequestId></Error>`

func (h *prefixScopedHTTP) Do(req *http.Request) (*http.Response, error) {
	path := strings.TrimPrefix(req.URL.Path, "/")
	b, key, hasKey := strings.Cut(path, "/")
	under := func(s string) bool { return strings.HasPrefix(s, h.prefix+"/") }
	allowed := b == h.bucket
	switch {
	case !hasKey || key == "":
		allowed = allowed && req.Method == http.MethodGet && req.URL.Query().Get("list-type") == "2" && under(req.URL.Query().Get("prefix"))
	default:
		allowed = allowed && under(key)
	}
	if !allowed {
		return deny(req), nil
	}
	resp, err := h.next.Do(req)
	if err == nil && hasKey && resp.StatusCode == http.StatusNotFound && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return deny(req), nil
	}
	return resp, err
}

func deny(req *http.Request) *http.Response {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(accessDeniedXML)), Request: req}
}

// The start check passes with a role scoped to the prefix, and it has really written there.
func TestCheckWithAPrefixScopedRole(t *testing.T) {
	env := newMotoEnv(t)
	scoped := &prefixScopedHTTP{next: awshttp.NewBuildableClient(), bucket: bucket, prefix: "weir/test"}
	if err := env.sink(t, nil, scoped).Check(context.Background()); err != nil {
		t.Fatalf("Check with a role that may write under the prefix: %v", err)
	}
	if keys := env.keys(t); !slices.Contains(keys, "weir/test/"+probeKey) {
		t.Errorf("no probe object after Check; the bucket holds %v", keys)
	}
	err := env.sink(t, func(c *Config) { c.Prefix = "elsewhere" }, scoped).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "s3.bucket:") {
		t.Errorf("Check under a prefix the role may not write: %v, want an error naming s3.bucket", err)
	}
}

// The aggregator's state store tells "never saved" from "denied" with a role scoped to the
// prefix, which S3 answers 403 for a missing key: a new aggregator starts from the earliest
// partial only when there really is no state.
func TestAggregatorStateWithAPrefixScopedRole(t *testing.T) {
	env := newMotoEnv(t)
	scoped := &prefixScopedHTTP{next: awshttp.NewBuildableClient(), bucket: bucket, prefix: "p"}
	client := NewClient(env.awsCfg, &env.conf, func(o *s3.Options) { o.HTTPClient = scoped })
	st := env.sink(t, func(c *Config) { c.Prefix = "p" }, scoped).PartialStore(client)
	ctx := context.Background()
	if _, _, err := st.LoadState(ctx, "aggregator"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadState of a name never saved, with a prefix-scoped role: %v, want fs.ErrNotExist", err)
	}
	if _, ok, err := st.SaveState(ctx, "aggregator", []byte("state"), ""); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got, _, err := st.LoadState(ctx, "aggregator"); err != nil || string(got) != "state" {
		t.Fatalf("LoadState = %q, %v", got, err)
	}
	other := &prefixScopedHTTP{next: awshttp.NewBuildableClient(), bucket: bucket, prefix: "other"}
	denied := env.sink(t, func(c *Config) { c.Prefix = "p" }, other).PartialStore(NewClient(env.awsCfg, &env.conf, func(o *s3.Options) {
		o.HTTPClient = other
	}))
	if _, _, err := denied.LoadState(ctx, "aggregator"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadState by a role that may not read the prefix: %v, want an error that is not fs.ErrNotExist", err)
	}
}
