package s3

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirstream/weir/pipeline"
	"github.com/weirstream/weir/sinks/layout"
	"github.com/weirstream/weir/sinks/partialtest"
)

// The partial store on a real S3 API (moto), with pages of 3 keys so that every listing pages.
func TestPartialStoreConformance(t *testing.T) {
	env := newMotoEnv(t)
	var prefix string
	partialtest.Run(t, func(t *testing.T) partialtest.Store {
		s := env.sink(t, nil, nil)
		s.cfg.Prefix = "weir/" + t.Name() // a fresh store: nothing under this prefix yet
		prefix = s.cfg.Prefix
		ps := s.PartialStore(env.reader)
		ps.pageSize = 3
		return ps
	}, partialtest.Features{AddForeign: func(t *testing.T, key string) {
		if _, err := env.reader.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket),
			Key: aws.String(prefix + "/" + key), Body: bytes.NewReader([]byte("not a partial"))}); err != nil {
			t.Fatal(err)
		}
	}})
}

// lostAnswerHTTP forwards every request to moto but, for the next lose PUTs, throws the
// answer away and reports a 500: the write happened, the writer does not know it.
type lostAnswerHTTP struct {
	next aws.HTTPClient
	lose int
}

func (l *lostAnswerHTTP) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.next.Do(req)
	if err != nil || req.Method != http.MethodPut || l.lose == 0 {
		return resp, err
	}
	l.lose--
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return &http.Response{
		StatusCode: 500, Status: "500 Internal Server Error", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Request: req,
		Body: io.NopCloser(strings.NewReader("<Error><Code>InternalError</Code><Message>lost</Message></Error>")),
	}, nil
}

// A conditional PUT whose answer is lost is retried, and the retry fails the condition on the
// object the first attempt wrote: the store must recognise its own write, or a claimer would
// believe it lost a window it had claimed (and nobody would publish it), and a state writer
// would believe someone else had written.
func TestConditionalPutWithALostAnswer(t *testing.T) {
	env := newMotoEnv(t)
	lost := &lostAnswerHTTP{next: awshttp.NewBuildableClient()}
	ps := env.sink(t, nil, lost).PartialStore(env.reader)
	ctx := context.Background()
	w := pipeline.Window{Start: partialtest.T0, End: partialtest.T0.Add(time.Minute)}

	lost.lose = 1
	if ok, err := ps.ClaimPublish(ctx, w, []byte("claimer A")); err != nil || !ok {
		t.Fatalf("claim with a lost answer: %v, %v; want claimed", ok, err)
	}
	if ok, err := ps.ClaimPublish(ctx, w, []byte("claimer B")); err != nil || ok {
		t.Fatalf("a second claimer: %v, %v; want not claimed", ok, err)
	}

	v1, ok, err := ps.SaveState(ctx, "aggregator", []byte("one"), "")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	lost.lose = 1
	v2, ok, err := ps.SaveState(ctx, "aggregator", []byte("two"), v1)
	if err != nil || !ok {
		t.Fatalf("save with a lost answer: %v, %v; want saved", ok, err)
	}
	if data, v, err := ps.LoadState(ctx, "aggregator"); err != nil || string(data) != "two" || v != v2 {
		t.Fatalf("state %q %q %v; want two %q", data, v, err, v2)
	}
	// A lost answer to a write that lost the race is still a loss.
	lost.lose = 1
	if _, ok, err := ps.SaveState(ctx, "aggregator", []byte("three"), v1); err != nil || ok {
		t.Fatalf("a stale save with a lost answer: %v, %v; want not saved", ok, err)
	}
}

// A claim whose answers are all lost fails (the PUT landed; the claimer cannot know), and the
// aggregator tries it again, with the same body, at its next poll. That call's PUT fails the
// condition on the marker the first call wrote: the store must recognise its own marker there
// too, or the aggregator would skip the window as published by someone else, and nobody would
// ever publish it.
func TestClaimRetriedAfterAFailedCallRecognisesItsMarker(t *testing.T) {
	env := newMotoEnv(t)
	lost := &lostAnswerHTTP{next: awshttp.NewBuildableClient()}
	ps := env.sink(t, func(c *Config) { c.Retry.GiveUpAfter = 30 * time.Millisecond }, lost).PartialStore(env.reader)
	ctx := context.Background()
	w := pipeline.Window{Start: partialtest.T0, End: partialtest.T0.Add(time.Minute)}

	lost.lose = 1 << 20 // every answer until the call gives up
	if ok, err := ps.ClaimPublish(ctx, w, []byte("claimer A")); err == nil {
		t.Fatalf("a claim with every answer lost: %v, nil; want an error", ok)
	}
	if lost.lose == 1<<20 {
		t.Fatal("the claim sent no PUT")
	}
	lost.lose = 0
	if ok, err := ps.ClaimPublish(ctx, w, []byte("claimer A")); err != nil || !ok {
		t.Fatalf("the claim retried by the same claimer: %v, %v; want claimed", ok, err)
	}
	if ok, err := ps.ClaimPublish(ctx, w, []byte("claimer B")); err != nil || ok {
		t.Fatalf("another claimer: %v, %v; want not claimed", ok, err)
	}
	if got := env.get(t, "weir/test/"+layout.PublishedKey(w)); string(got) != "claimer A" {
		t.Fatalf("the marker holds %q, want claimer A's", got)
	}
}
