package aggregator

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
)

// state is the aggregator's state object (kind=state/name=aggregator.msgpack), saved after
// each window's reports are durable and its metrics published. A new aggregator resumes from
// it: windows the old one merged but did not record are merged again, rewriting the same
// report keys with the same bytes, and their publish claims fail, so they are not published
// twice.
type state struct {
	V int `msgpack:"v"`
	// Token is the fencing token of the term that saved it.
	Token int64 `msgpack:"token"`
	// Period is the window length the windows below are on, in nanoseconds.
	Period int64 `msgpack:"period"`
	// Next is the start of the next window to merge (Unix ns); 0 before the first.
	Next int64 `msgpack:"next"`
	// Watched are windows merged with missing partitions, still watched for them.
	Watched []watched `msgpack:"watched"`
	// Ended are the partitions that ended, with the window of their last partial.
	Ended []endedAt `msgpack:"ended"`
	// Snapshots are the analyzers' saved states (the anomaly detectors), by name: the
	// aggregator is their only writer, and saving them with Next keeps the two consistent.
	Snapshots []snapshot `msgpack:"snapshots"`
	// SavedAt is when it was saved (wall clock, Unix ns): a higher token in a state nobody
	// saved for a long while fences nobody (see term.stale).
	SavedAt int64 `msgpack:"saved_at"`
}

// stateVersion changes when state changes incompatibly.
const stateVersion = 1

// watched is a window merged without some partitions.
type watched struct {
	Start int64 `msgpack:"start"`
	End   int64 `msgpack:"end"`
	// Since is when it was first merged (wall clock, Unix ns): it is watched until
	// Since + aggregator.watch_for.
	Since int64 `msgpack:"since"`
	// Missing have not passed the window; Late delivered it after the first merge.
	Missing []pipeline.Partition `msgpack:"missing"`
	Late    []pipeline.Partition `msgpack:"late"`
}

func (w *watched) window() pipeline.Window {
	return pipeline.Window{Start: unixTime(w.Start), End: unixTime(w.End)}
}

type endedAt struct {
	Partition pipeline.Partition `msgpack:"partition"`
	Start     int64              `msgpack:"start"`
}

type snapshot struct {
	Name string `msgpack:"name"`
	Data []byte `msgpack:"data"`
}

func encodeState(st *state) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(st); err != nil {
		return nil, fmt.Errorf("aggregator: encoding state: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeState(b []byte) (*state, error) {
	var st state
	if err := msgpack.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("aggregator: decoding state: %w", err)
	}
	if st.V != stateVersion {
		return nil, fmt.Errorf("aggregator: state version %d, this build reads %d", st.V, stateVersion)
	}
	if st.Period <= 0 || st.Next < 0 {
		return nil, fmt.Errorf("aggregator: state with period %d and next window %d", st.Period, st.Next)
	}
	return &st, nil
}

// SnapshotStore is what the aggregator gives its analyzers to save and restore their state
// (anomaly.NewAnalyzer takes one as its StateStore). Its contents travel inside the
// aggregator's state object.
type SnapshotStore interface {
	Load(ctx context.Context, name string) ([]byte, error)
	Save(ctx context.Context, name string, data []byte) error
}

// snapshots holds the analyzers' latest saves in memory until the aggregator's next state
// save. Save runs on whatever goroutine the analyzer calls it from (anomaly: in Durable), so it
// locks.
type snapshots struct {
	mu   sync.Mutex
	data map[string][]byte
}

func newSnapshots(saved []snapshot) *snapshots {
	s := &snapshots{data: make(map[string][]byte, len(saved))}
	for _, sn := range saved {
		s.data[sn.Name] = sn.Data
	}
	return s
}

// Load implements SnapshotStore; a name never saved wraps fs.ErrNotExist.
func (s *snapshots) Load(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[name]
	if !ok {
		return nil, fmt.Errorf("aggregator: snapshot %q: %w", name, fs.ErrNotExist)
	}
	return slices.Clone(d), nil
}

// Save implements SnapshotStore.
func (s *snapshots) Save(_ context.Context, name string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[name] = slices.Clone(data)
	return nil
}

// list returns the snapshots sorted by name.
func (s *snapshots) list() []snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]snapshot, 0, len(s.data))
	for n, d := range s.data {
		out = append(out, snapshot{Name: n, Data: d})
	}
	slices.SortFunc(out, func(a, b snapshot) int { return strings.Compare(a.Name, b.Name) })
	return out
}
