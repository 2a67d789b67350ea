package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// markCaughtUp tells the runtime which newly assigned partitions have nothing to read. Kafka
// returns no fetch for an empty partition, so without this its runner would never learn it is
// caught up, and (rightly) would never let it go idle, holding back every window. It compares
// the group's committed offset (or, without one, where consumption starts) with the end offset,
// and sends an empty Batch with More false for partitions with nothing in between. It retries
// until it succeeds or ctx ends: until then the partitions are treated as behind, which is safe.
func (s *Source) markCaughtUp(ctx context.Context, parts []tp) {
	adm := kadm.NewClient(s.cl)
	backoff := 100 * time.Millisecond
	for {
		caught, err := s.caughtUp(ctx, adm, parts)
		if err == nil {
			s.sendCaughtUp(caught)
			return
		}
		s.log.Warn("checking which assigned partitions are empty failed; retrying", "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Source) caughtUp(ctx context.Context, adm *kadm.Client, parts []tp) ([]tp, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, s.cfg.Topics...)
	if err != nil {
		return nil, err
	}
	starts, err := adm.ListStartOffsets(ctx, s.cfg.Topics...)
	if err != nil {
		return nil, err
	}
	committed, err := adm.FetchOffsets(ctx, s.cfg.Group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, err
	}
	var out []tp
	for _, p := range parts {
		end, ok := ends.Lookup(p.topic, p.partition)
		if !ok || end.Err != nil {
			return nil, errors.New("no end offset for " + p.topic)
		}
		from := end.Offset // start "latest": nothing to read at assignment
		if c, ok := committed.Lookup(p.topic, p.partition); ok && c.Err == nil && c.At >= 0 {
			from = c.At
		} else if s.cfg.Start == "earliest" {
			st, ok := starts.Lookup(p.topic, p.partition)
			if !ok || st.Err != nil {
				return nil, errors.New("no start offset for " + p.topic)
			}
			from = st.Offset
		}
		if from >= end.Offset {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *Source) sendCaughtUp(parts []tp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		if o, ok := s.owned[p]; ok && !o.revoking {
			o.gate.caughtUp(o.part)
		}
	}
}
