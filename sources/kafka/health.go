package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readiness is what the source knows about whether it can do its work: when a broker last
// answered, and the last fetch refused for lack of authorization.
type readiness struct {
	answered atomic.Int64 // Unix ns of the last request a broker answered

	mu       sync.Mutex
	deniedAt time.Time
	denied   error
}

// Ready returns why the source cannot do its work at now, or nil: it is ready when a broker
// answered within the last within (franz-go heartbeats every 3s as a member, and fetches
// constantly with partitions assigned), it is a member of the group (joined and synced), and
// no fetch was refused for authorization within the last within.
//
// A member with no partitions is ready: with more workers than partitions some have nothing
// to do, and they are the ones that take over when a worker goes away, at the next
// rebalance. Safe for concurrent use.
func (s *Source) Ready(now time.Time, within time.Duration) error {
	var errs []error
	switch last := s.ready.answered.Load(); {
	case last == 0:
		errs = append(errs, fmt.Errorf("kafka: no broker has answered yet (brokers %v)", s.cfg.Brokers))
	case now.Sub(time.Unix(0, last)) > within:
		errs = append(errs, fmt.Errorf("kafka: no broker has answered for %v (brokers %v)",
			now.Sub(time.Unix(0, last)).Round(time.Second), s.cfg.Brokers))
	}
	if member, generation := s.cl.GroupMetadata(); member == "" || generation <= 0 {
		errs = append(errs, fmt.Errorf("kafka: not a member of group %q yet", s.cfg.Group))
	}
	s.ready.mu.Lock()
	at, denied := s.ready.deniedAt, s.ready.denied
	s.ready.mu.Unlock()
	if denied != nil && now.Sub(at) <= within {
		errs = append(errs, fmt.Errorf("kafka: fetching is not authorized: %w", denied))
	}
	return errors.Join(errs...)
}

// authorizationError reports whether err is a refusal that retrying cannot fix: someone must
// change an ACL or an IAM policy.
func authorizationError(err error) bool {
	for _, e := range []error{kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed,
		kerr.ClusterAuthorizationFailed, kerr.SaslAuthenticationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// OnBrokerE2E implements kgo.HookBrokerE2E: every request a broker answered (whatever the
// error codes inside) shows the source connected.
func (h *clientHooks) OnBrokerE2E(_ kgo.BrokerMetadata, _ int16, e2e kgo.BrokerE2E) {
	if e2e.Err() == nil {
		h.s.ready.answered.Store(time.Now().UnixNano())
	}
}

var _ kgo.HookBrokerE2E = (*clientHooks)(nil)

// fetchErrorLog rate-limits the fetch-error log. franz-go returns an error per partition per
// fetch, so a topic the worker may not read failed every partition on every fetch, a WARN line
// each, several a second per partition. The first error is logged at once, then at most one
// line per warnEvery: how many errors on how many partitions since the last line, and the
// latest. Every error is still counted (weir_kafka_fetch_errors_total). Used by Run's
// goroutine only.
type fetchErrorLog struct {
	logged time.Time
	n      int
	parts  map[tp]struct{}
	last   error
	lastTP tp
}

func (l *fetchErrorLog) add(log *slog.Logger, now time.Time, at tp, err error) {
	if l.parts == nil {
		l.parts = make(map[tp]struct{})
	}
	l.n++
	l.parts[at] = struct{}{}
	l.last, l.lastTP = err, at
	if !l.logged.IsZero() && now.Sub(l.logged) < warnEvery {
		return
	}
	if l.n == 1 {
		log.Warn("fetch error; the client retries", "topic", at.topic, "partition", at.partition, "err", err)
	} else {
		log.Warn("fetch errors; the client retries", "errors", l.n, "partitions", len(l.parts), "since", warnEvery,
			"topic", at.topic, "partition", at.partition, "err", err)
	}
	l.logged, l.n = now, 0
	clear(l.parts)
}

// fetchError handles one partition's fetch error: counted, logged (rate-limited), and, when
// it is an authorization refusal, remembered for Ready.
func (s *Source) fetchError(topic string, partition int32, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	now := time.Now()
	s.m.fetchErrors.Inc()
	s.fetchLog.add(s.log, now, tp{topic, partition}, err)
	if authorizationError(err) {
		s.ready.mu.Lock()
		s.ready.deniedAt, s.ready.denied = now, fmt.Errorf("%s/%d: %w", topic, partition, err)
		s.ready.mu.Unlock()
	}
}
