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
// From then on confirmCaughtUp keeps confirming the partitions that stay caught up.
func (s *Source) markCaughtUp(ctx context.Context, parts []tp) {
	adm := kadm.NewClient(s.cl)
	backoff := 100 * time.Millisecond
	for {
		at := time.Now()
		caught, err := s.caughtUp(ctx, adm, parts)
		if err == nil {
			s.sendCaughtUp(caught, at)
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

// startAt is a newly assigned partition found caught up, and the offset its reading starts at.
type startAt struct {
	tp
	from int64
}

func (s *Source) caughtUp(ctx context.Context, adm *kadm.Client, parts []tp) ([]startAt, error) {
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
	var out []startAt
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
			out = append(out, startAt{p, from})
		}
	}
	return out, nil
}

// sendCaughtUp tells the runners of parts they were caught up as of at, reading from their
// start offsets on (confirmCaughtUp compares the end offsets with those until records come).
func (s *Source) sendCaughtUp(parts []startAt, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		if o, ok := s.owned[p.tp]; ok && !o.revoking {
			o.gate.caughtUp(o.part, at, p.from)
		}
	}
}

// caughtUpEvery is how often the source confirms that its caught-up partitions still are: a
// metadata request and one ListOffsets request per leader a second, whatever the partition
// count. The wall clock moves a quiet partition's watermark no further than its last
// confirmation (rule 4 of pipeline/eventtime.go), so this is also how far a quiet partition's
// windows close behind the wall clock beyond the idle timeout and the allowed lateness.
const caughtUpEvery = time.Second

// confirmTimeout bounds one confirmation's ListOffsets. It is longer than caughtUpEvery on
// purpose: a confirmation is as of when its request was sent, so a slow answer (a loaded
// cluster answering ListOffsets in more than a second) is still a confirmation, only a later
// one, and refusing it gains nothing; a timeout of the interval would refuse every answer
// slower than it for as long as the brokers stay that slow. One request is out at a time: ticks
// that fall while it is out are dropped (time.Ticker).
const confirmTimeout = 10 * time.Second

// confirmCaughtUp confirms, every interval until ctx ends, the owned partitions whose end
// offset is no further than what their runners' feeds have taken: every record that was on the
// broker when the end offsets were asked for is queued before the confirmation (gate.confirm). Kafka sends
// nothing for a partition with nothing new, so without this the runner could not tell a quiet
// partition from one whose fetches stopped answering (a broker that takes the connection and
// does not answer, a network partition to the leader, a client stuck on a moved leader): its
// last "caught up" would stand while records reach the broker, and the wall clock would close
// their windows before they are read. A partition the check cannot confirm (the request fails,
// records wait that the fetch has not returned) is simply not confirmed: its windows wait.
// It runs beside the poll loop, which blocks while nothing arrives, and holds the source's
// lock only while handing the confirmations over, never across a request.
func (s *Source) confirmCaughtUp(ctx context.Context, every time.Duration) {
	adm := kadm.NewClient(s.cl)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		at := time.Now()
		rctx, cancel := context.WithTimeout(ctx, confirmTimeout)
		ends, err := adm.ListEndOffsets(rctx, s.cfg.Topics...)
		cancel()
		if err != nil {
			continue // not confirmed: the lag poller logs what the brokers refuse
		}
		s.mu.Lock()
		for key, o := range s.owned {
			if e, ok := ends.Lookup(key.topic, key.partition); ok && e.Err == nil && !o.revoking {
				o.gate.confirm(o.part, at, e.Offset)
			}
		}
		s.mu.Unlock()
	}
}
