package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/weirstream/weir/internal/kinesalite"
)

// putTries bounds the PutRecords calls putExactlyOnce makes for one set of entries.
const putTries = 5

// putCallTimeout bounds one PutRecords call: an answer that never comes is a lost answer,
// found out by reading the stream back like any other.
const putCallTimeout = 30 * time.Second

// putExactlyOnce writes entries to stream so that each lands once. A PutRecords call that gets
// no answer (a connection broken or reset under it, or no answer in time: net/http never
// retries a POST, and the tests' AWS clients have the SDK's retryer off) may have landed or
// not, and resending it blindly would write records twice where the tests count exactly. So
// the stream is read back and only the entries whose payload is not there are sent again:
// every test record's payload is unique. Per key the order holds as long as each call has at
// most one entry per key and the calls before it have landed, which is how the tests write.
// logf says what happened to each unanswered call.
func (e *env) putExactlyOnce(ctx context.Context, stream string, entries []types.PutRecordsRequestEntry, logf func(string, ...any)) error {
	for try := 1; ; try++ {
		cctx, cancel := context.WithTimeout(ctx, putCallTimeout)
		out, err := e.kin.PutRecords(cctx, &awskinesis.PutRecordsInput{StreamName: &stream, Records: entries})
		cancel()
		if err == nil {
			if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
				// Neither server throttles, so no test resends failed entries.
				return fmt.Errorf("%w: %d of %d", errFailedRecords, n, len(entries))
			}
			return nil
		}
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) || ctx.Err() != nil {
			return fmt.Errorf("PutRecords: %w", err) // an answer: the server refused the call
		}
		if try == putTries {
			return fmt.Errorf("PutRecords: no answer %d times, the last: %w", putTries, err)
		}
		landed, rerr := e.payloads(ctx, stream)
		if rerr != nil {
			return fmt.Errorf("PutRecords: no answer (%v), and reading the stream back failed: %w", err, rerr)
		}
		rest := entries[:0:0]
		for _, en := range entries {
			if landed[string(en.Data)] == 0 {
				rest = append(rest, en)
			}
		}
		logf("PutRecords got no answer (%v): %d of its %d records had landed; sending the other %d again",
			err, len(entries)-len(rest), len(entries), len(rest))
		if len(rest) == 0 {
			return nil
		}
		entries = rest
	}
}

// payloads reads every shard of stream, closed ones too, from its start, and returns how many
// times each payload is there.
func (e *env) payloads(ctx context.Context, stream string) (map[string]int, error) {
	got := map[string]int{}
	in := &awskinesis.ListShardsInput{StreamName: &stream}
	for {
		shards, err := e.kin.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, sh := range shards.Shards {
			it, err := e.kin.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: &stream,
				ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				return nil, err
			}
			for iter := it.ShardIterator; iter != nil; {
				recs, err := e.kin.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					return nil, err
				}
				for _, r := range recs.Records {
					got[string(r.Data)]++
				}
				if len(recs.Records) == 0 { // the shard's end, for now
					break
				}
				iter = recs.NextShardIterator
			}
		}
		if shards.NextToken == nil {
			return got, nil
		}
		in = &awskinesis.ListShardsInput{NextToken: shards.NextToken}
	}
}

// loseAnswers passes Kinesis requests to the server, except that the PutRecords calls lose
// says lose their answer: after the server took them (landed), or before it saw them.
type loseAnswers struct {
	next  aws.HTTPClient
	lose  func(call int64) (lost, landed bool)
	calls atomic.Int64
	lost  atomic.Int64
}

func (l *loseAnswers) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Amz-Target") != "Kinesis_20131202.PutRecords" {
		return l.next.Do(req)
	}
	lost, landed := l.lose(l.calls.Add(1))
	if !lost {
		return l.next.Do(req)
	}
	l.lost.Add(1)
	if landed {
		resp, err := l.next.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("read tcp: use of closed network connection")
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, errors.New("write tcp: connection reset by peer")
}

// The test producer writes each record exactly once when PutRecords answers are lost, whether
// the call had landed or not, several times in a row too: TestThroughputAgainstKinesalite (now TestBacklogAgainstKinesalite)
// failed once under load on such a lost answer, and resending the call would have counted its
// records twice.
func TestProducerWritesOnceWhenAnswersAreLost(t *testing.T) {
	kl := kinesalite.Start(t)
	e := newEnv(t, kl.Endpoint(), kl.Endpoint())
	const stream = "lost-answers"
	e.createStream(t, stream, 2)
	l := &loseAnswers{next: e.kinCfg.HTTPClient, lose: func(call int64) (lost, landed bool) {
		switch call {
		case 2, 5, 6: // taken by the server; 5 and 6 two calls in a row
			return true, true
		case 3, 8, 9: // never reached it; 9 is 8's resend
			return true, false
		}
		return false, false
	}}
	le := *e
	le.kinCfg = e.kinCfg.Copy()
	le.kinCfg.HTTPClient = l
	le.kin = awskinesis.NewFromConfig(le.kinCfg)
	p := newProducer(&le, stream, 20)
	p.put(t, 10)
	got, err := e.payloads(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	missing, twice := 0, 0
	for _, id := range p.ids() {
		switch got[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing != 0 || twice != 0 || len(got) != p.total() || p.total() != 200 {
		t.Errorf("%d records written, %d distinct read back: %d missing, %d written more than once", p.total(), len(got), missing, twice)
	}
	if l.lost.Load() != 6 {
		t.Errorf("%d answers lost, want 6: the test lost fewer than it meant to", l.lost.Load())
	}
}
