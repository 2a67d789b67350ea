package replay

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/weirstream/weir/pipeline"
)

// windowSet holds a replay's windows until the end of the input: a file's lines may come in
// any order, and every line counts in the window its time says, however far it is from its
// neighbours (as CloudWatch Contributor Insights counts a log group). At most maxOpen windows
// are in memory; past that, the earliest is encoded (msgpack, as partials are) into a
// temporary file and read back when a line for it comes, or when it is written at the end. A
// file in time order never reads a window back.
type windowSet struct {
	newStates func() []pipeline.State
	maxOpen   int
	open      map[int64]*window
	spilled   map[int64]spillRef
	file      *os.File // the spill file, created on the first spill
	size      int64
	// spills counts windows written to the spill file, reloads those read back.
	spills, reloads int
}

// spillRef is where a spilled window's encoded states are in the spill file.
type spillRef struct {
	win      pipeline.Window
	off, len int64
}

func newWindowSet(maxOpen int, newStates func() []pipeline.State) *windowSet {
	return &windowSet{newStates: newStates, maxOpen: maxOpen, open: map[int64]*window{}, spilled: map[int64]spillRef{}}
}

// get returns the window starting at win.Start, opening it (or reading it back) if needed.
func (s *windowSet) get(win pipeline.Window) (*window, error) {
	key := win.Start.UnixNano()
	if w, ok := s.open[key]; ok {
		return w, nil
	}
	if len(s.open) >= s.maxOpen {
		if err := s.spillEarliest(); err != nil {
			return nil, err
		}
	}
	if ref, ok := s.spilled[key]; ok {
		w, err := s.load(ref)
		if err != nil {
			return nil, err
		}
		delete(s.spilled, key)
		s.open[key] = w
		s.reloads++
		return w, nil
	}
	w := &window{win: win, states: s.newStates()}
	s.open[key] = w
	return w, nil
}

// spillEarliest moves the earliest open window to the spill file.
func (s *windowSet) spillEarliest() error {
	var key int64
	first := true
	for k := range s.open {
		if first || k < key {
			key, first = k, false
		}
	}
	w := s.open[key]
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	for _, st := range w.states {
		if err := enc.Encode(st); err != nil {
			return fmt.Errorf("replay: spilling window %v: %w", w.win.Start, err)
		}
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "weir-replay-*.msgpack")
		if err != nil {
			return fmt.Errorf("replay: more than %d windows: a spill file: %w", s.maxOpen, err)
		}
		os.Remove(f.Name()) // unlinked: it goes when it is closed, even after a crash
		s.file = f
	}
	if _, err := s.file.WriteAt(buf.Bytes(), s.size); err != nil {
		return fmt.Errorf("replay: spilling window %v: %w", w.win.Start, err)
	}
	s.spilled[key] = spillRef{win: w.win, off: s.size, len: int64(buf.Len())}
	s.size += int64(buf.Len())
	delete(s.open, key)
	s.spills++
	return nil
}

func (s *windowSet) load(ref spillRef) (*window, error) {
	w := &window{win: ref.win, states: s.newStates()}
	dec := msgpack.NewDecoder(bufio.NewReader(io.NewSectionReader(s.file, ref.off, ref.len)))
	for _, st := range w.states {
		if err := dec.Decode(st); err != nil {
			return nil, fmt.Errorf("replay: reading window %v back: %w", ref.win.Start, err)
		}
	}
	return w, nil
}

// each calls fn for every window, in time order, and forgets them.
func (s *windowSet) each(fn func(*window) error) error {
	keys := make([]int64, 0, len(s.open)+len(s.spilled))
	for k := range s.open {
		keys = append(keys, k)
	}
	for k := range s.spilled {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, ok := s.open[k]
		if !ok {
			var err error
			if w, err = s.load(s.spilled[k]); err != nil {
				return err
			}
		}
		delete(s.open, k)
		delete(s.spilled, k)
		if err := fn(w); err != nil {
			return err
		}
	}
	return nil
}

// close removes the spill file.
func (s *windowSet) close() {
	if s.file != nil {
		s.file.Close()
	}
}
