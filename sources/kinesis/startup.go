package kinesis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirstream/weir/internal/awsconf"
)

// startupTimeout bounds each start-up check (the stream, the lease table) including its
// retries and waits (a stream being created, a table becoming active).
const startupTimeout = 2 * time.Minute

// startupAttemptTimeout bounds one attempt of a start-up call. An endpoint that accepts the
// connection and never answers (a stuck proxy, a peer gone without a reset) would otherwise
// hold the first attempt for all of startupTimeout: nothing logged for two minutes, then an
// exit. Bounded, the attempt fails as a network error, which is logged at once and retried.
// The calls are single-item metadata reads and a CreateTable: milliseconds when answered.
const startupAttemptTimeout = 5 * time.Second

// boundAttempt bounds each attempt of call by d. An attempt that ran out of time while the
// caller's ctx had not is returned as errNoAnswer, a connection error to the retry policy
// (awsconf.Classify: network, retried); a context error would end the retries instead.
func boundAttempt(d time.Duration, call func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := call(actx)
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			return errNoAnswer{after: d, err: err}
		}
		return err
	}
}

// errNoAnswer is an attempt that got no answer in time. It does not unwrap to the SDK's
// canceled error, which the SDK's retry rules (and so Classify) take as not retryable.
type errNoAnswer struct {
	after time.Duration
	err   error
}

func (e errNoAnswer) Error() string         { return fmt.Sprintf("no answer within %v: %v", e.after, e.err) }
func (e errNoAnswer) ConnectionError() bool { return true }

// checkStream makes sure the stream exists before anything is created for it.
//
// A stream that does not exist fails Run at once, with the field named, instead of leaving a
// worker that reports ready, creates a lease table for nothing and warns once a minute. A
// missing stream is almost always a wrong name, region or account. If it is created later,
// nothing is lost by exiting: ECS replaces a task that stops, and the replacement finds it,
// while a deployment whose every task fails is rolled back by the deployment circuit breaker
// instead of running tasks that do nothing. A stream still being created is waited for (within
// startupTimeout); one being deleted is an error.
func (s *Source) checkStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	w := s.startupWatch("the stream", "DescribeStreamSummary")
	for {
		var out *kinesis.DescribeStreamSummaryOutput
		err := s.cfg.Retry.Do(ctx, boundAttempt(startupAttemptTimeout, func(ctx context.Context) (err error) {
			out, err = s.kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(s.cfg.Stream)})
			return err
		}), func(reason string, err error) {
			s.m.apiErrors.WithLabelValues("DescribeStreamSummary", reason).Inc()
			w.failed(reason, err)
		})
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			return fmt.Errorf("source.kinesis.stream: stream %q does not exist in region %s", s.cfg.Stream, s.region)
		case err != nil:
			return fmt.Errorf("source.kinesis.stream: checking stream %q: %w", s.cfg.Stream, err)
		}
		switch status := out.StreamDescriptionSummary.StreamStatus; status {
		case types.StreamStatusActive, types.StreamStatusUpdating:
			w.succeeded()
			return nil
		case types.StreamStatusDeleting:
			return fmt.Errorf("source.kinesis.stream: stream %q is being deleted", s.cfg.Stream)
		default:
			w.waiting(string(status))
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("source.kinesis.stream: stream %q did not become active: %w", s.cfg.Stream, ctx.Err())
		}
	}
}

// ensureTable waits for the lease table (creating it if missing and allowed), logging at once
// when DynamoDB does not answer.
func (s *Source) ensureTable(ctx context.Context) error {
	w := s.startupWatch("the lease table "+s.cfg.LeaseTable, "DescribeTable")
	if err := s.store.ensureTable(ctx, s.cfg.createTable(), w.failed); err != nil {
		return err
	}
	w.succeeded()
	return nil
}

// startupWatch logs the first failed attempt of a start-up call as soon as it happens: the
// retry policy would otherwise go on silently until it gives up, minutes later, and the
// operator would see nothing until the worker exits. It says what is being retried and until
// when, and logs once more when the call goes through after all.
type startupWatch struct {
	log     *slog.Logger
	what    string
	op      string
	until   time.Time
	failing bool
	waited  string
}

func (s *Source) startupWatch(what, op string) *startupWatch {
	return &startupWatch{log: s.log, what: what, op: op, until: time.Now().Add(min(startupTimeout, s.cfg.Retry.GiveUpAfter))}
}

func (w *startupWatch) failed(reason string, err error) {
	if w.failing || reason == awsconf.ReasonCanceled || reason == awsconf.ReasonClient {
		return // not retried: the caller returns the error
	}
	w.failing = true
	w.log.Warn("cannot reach "+w.what+" at start; retrying", "op", w.op, "reason", reason, "err", err,
		"retrying_until", w.until.Format(time.RFC3339))
}

func (w *startupWatch) waiting(status string) {
	if w.waited != status {
		w.waited = status
		w.log.Info("waiting for "+w.what, "status", status)
	}
}

func (w *startupWatch) succeeded() {
	if w.failing {
		w.log.Info("reached " + w.what + " after retries")
	}
}
