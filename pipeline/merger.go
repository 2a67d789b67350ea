package pipeline

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
)

type msgKind uint8

const (
	msgPartial  msgKind = iota // a partition closed a window: here is its state
	msgProgress                // a partition will send nothing more for windows ending at or before closed
	msgLeave                   // a partition stopped; sent after its final partials, so it is ordered with them
)

// mergeMsg travels from a runner to the merger.
type mergeMsg struct {
	kind msgKind
	p    Partition

	// msgPartial
	win     Window
	states  []State // indexed like Runtime.ops; nil where the operator does not read the stream
	hold    uint64
	holds   *holds
	credits chan struct{} // where to return the credit once durable; nil if none was taken
	first   Position
	final   bool // the partition is stopping: this is its last word on the window

	// msgPartial: what the window took and lost (drops.go)
	counts windowCounts

	// msgProgress
	closed int64
	idle   bool // quiet with no open window: leave the partition out of the minimum (rule 4)
}

// contribution is one partition's part of a window output: what to release once it is durable.
type contribution struct {
	p       Partition
	first   Position
	hold    uint64
	holds   *holds
	credits chan struct{}
}

// pendingWindow is a window some partitions have closed and others not yet.
type pendingWindow struct {
	win     Window
	states  []State
	contrib []contribution
	counts  windowCounts
}

// merger is the single goroutine that combines partition partials into the worker's window
// outputs. A window is complete when every member partition that is not idle has reported
// progress past its end (rule 6 of eventtime.go); complete windows are emitted in order. A membership change (a partition leaves) flushes
// everything pending, because the leaving partition's data must become durable before its
// revoke can commit; what arrives later for the same window goes out as a separate output with
// its own Owner.
type merger struct {
	rt      *Runtime
	members map[Partition]member
	left    map[Partition]bool
	pending map[windowKey]*pendingWindow
}

// member is what the merger knows of a partition's progress.
type member struct {
	closed int64 // the end up to which it has closed windows
	idle   bool  // left out of the minimum
}

func newMerger(rt *Runtime) *merger {
	return &merger{
		rt:      rt,
		members: make(map[Partition]member),
		left:    make(map[Partition]bool),
		pending: make(map[windowKey]*pendingWindow),
	}
}

func (m *merger) run() {
	defer close(m.rt.emit)
	for {
		select {
		case msg := <-m.rt.merge:
			m.handle(msg)
		case <-m.rt.controlNotify:
			m.applyControl()
		case <-m.rt.runnersDone:
			// Every runner has stopped: take what is still queued, then flush everything.
			for {
				select {
				case msg := <-m.rt.merge:
					m.handle(msg)
					continue
				default:
				}
				break
			}
			m.applyControl()
			m.flushAll()
			return
		}
	}
}

func (m *merger) handle(msg mergeMsg) {
	if m.rt.controlPending.Load() {
		m.applyControl()
	}
	switch msg.kind {
	case msgLeave:
		m.leave([]Partition{msg.p})
	case msgProgress:
		mb, ok := m.members[msg.p]
		if !ok || (msg.closed <= mb.closed && msg.idle == mb.idle) {
			return
		}
		mb.closed, mb.idle = max(mb.closed, msg.closed), msg.idle
		m.members[msg.p] = mb
		m.emitComplete()
	case msgPartial:
		c := contribution{p: msg.p, first: msg.first, hold: msg.hold, holds: msg.holds, credits: msg.credits}
		if _, member := m.members[msg.p]; !member {
			// The partition already left (its final partials raced its leave): emit alone.
			m.emitWindow(&pendingWindow{win: msg.win, states: msg.states, contrib: []contribution{c}, counts: msg.counts})
			return
		}
		k := keyOf(msg.win)
		pw, ok := m.pending[k]
		if !ok {
			m.pending[k] = &pendingWindow{win: msg.win, states: msg.states, contrib: []contribution{c}, counts: msg.counts}
			m.rt.metrics.pending.Set(float64(len(m.pending)))
			return
		}
		pw.counts.add(&msg.counts)
		for i, st := range msg.states {
			switch {
			case st == nil:
			case pw.states[i] == nil:
				pw.states[i] = st
			default:
				if err := pw.states[i].Merge(st); err != nil {
					// States of one operator always merge; an error is a bug in the operator.
					// Keep going with what merged: failing the window would stall the stream.
					m.rt.log.Error("merging window state failed", "operator", m.rt.ops[i].Name(),
						"window", msg.win.Start, "err", err)
				}
			}
		}
		pw.contrib = append(pw.contrib, c)
	}
}

// applyControl takes the joins and leaves the runtime queued.
func (m *merger) applyControl() {
	joins, leaves := m.rt.takeControl()
	for _, p := range joins {
		if _, ok := m.members[p]; !ok {
			m.members[p] = member{closed: minTime}
		}
		delete(m.left, p)
	}
	if len(leaves) == 0 {
		m.emitComplete()
		return
	}
	m.leave(leaves)
}

// leave removes partitions and flushes everything pending: the leaving partitions' data must
// become durable now for their revoke to commit it.
func (m *merger) leave(ps []Partition) {
	for _, p := range ps {
		delete(m.members, p)
		m.left[p] = true
	}
	m.flushAll()
}

// emitComplete emits, oldest first, every pending window that every member not idle has
// closed. (An idle member has handed over every window it had: it has none open.)
func (m *merger) emitComplete() {
	if len(m.pending) == 0 {
		return
	}
	low := int64(1<<63 - 1)
	for _, mb := range m.members {
		if !mb.idle {
			low = min(low, mb.closed)
		}
	}
	var ready []windowKey
	for k, pw := range m.pending {
		if pw.win.End.UnixNano() <= low {
			ready = append(ready, k)
		}
	}
	m.emitKeys(ready)
}

func (m *merger) flushAll() {
	keys := make([]windowKey, 0, len(m.pending))
	for k := range m.pending {
		keys = append(keys, k)
	}
	m.emitKeys(keys)
}

func (m *merger) emitKeys(keys []windowKey) {
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		pw := m.pending[k]
		delete(m.pending, k)
		m.emitWindow(pw)
	}
	m.rt.metrics.pending.Set(float64(len(m.pending)))
}

// emitWindow turns merged state into an Output and hands it to the emitter (blocking while the
// sinks are behind: that is the backpressure path from sinks to runners).
func (m *merger) emitWindow(pw *pendingWindow) {
	out := &Output{Window: pw.win, Owner: owner(pw.contrib)}
	for _, st := range pw.states {
		if st != nil {
			st.Emit(pw.win, out)
		}
	}
	for _, a := range m.rt.analyzers {
		a.Analyze(out)
	}
	m.rt.alarm.window(pw.win, &pw.counts, m.rt.cfg.Late)
	m.rt.emit <- &emission{out: out, contrib: pw.contrib}
}

// owner names the producer of an output deterministically: the streams, then a hash of every
// contributing partition with the position of its first record in the window. Replaying the
// same records gives the same name; a window flushed in two parts gives two names.
func owner(contrib []contribution) string {
	cs := append([]contribution(nil), contrib...)
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].p.Stream != cs[j].p.Stream {
			return cs[i].p.Stream < cs[j].p.Stream
		}
		return cs[i].p.ID < cs[j].p.ID
	})
	h := fnv.New64a()
	var streams []string
	var buf [8]byte
	for _, c := range cs {
		if len(streams) == 0 || streams[len(streams)-1] != c.p.Stream {
			streams = append(streams, c.p.Stream)
		}
		h.Write([]byte(c.p.Stream))
		h.Write([]byte{0})
		h.Write([]byte(c.p.ID))
		h.Write([]byte{0})
		binary.BigEndian.PutUint64(buf[:], uint64(c.first.Offset))
		if c.first.Seq != "" {
			// Kinesis ordinals restart with every lease; the sequence number does not.
			h.Write([]byte(c.first.Seq))
			binary.BigEndian.PutUint64(buf[:], uint64(c.first.Sub))
		}
		h.Write(buf[:])
	}
	return strings.Join(streams, "+") + "-" + strconv.Itoa(len(cs)) + "p-" +
		strconv.FormatUint(h.Sum64(), 16)
}
