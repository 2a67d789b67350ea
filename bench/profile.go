package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
)

// profile records a CPU profile of a run's drain and a heap profile at its end, when
// spec.Profile names a directory (-profile): where the time and the memory go, from the same
// run whose numbers the report shows.
type profile struct {
	cpu   *os.File
	trace *os.File
	heap  string
}

func startProfile(sp spec) (*profile, error) {
	if sp.Profile == "" {
		return &profile{}, nil
	}
	if err := os.MkdirAll(sp.Profile, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(sp.Profile, fmt.Sprintf("%s.%d", sp.Name, sp.Rep))
	f, err := os.Create(base + ".cpu.pprof")
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	p := &profile{cpu: f, heap: base + ".heap.pprof"}
	if sp.Trace {
		if p.trace, err = os.Create(base + ".trace"); err != nil {
			p.stop()
			return nil, err
		}
		if err := trace.Start(p.trace); err != nil {
			p.trace.Close()
			p.trace = nil
			p.stop()
			return nil, fmt.Errorf("execution trace: %w", err)
		}
	}
	return p, nil
}

// heapAt writes a heap profile now, as <name>.<rep>.<label>.heap.pprof, after a collection it
// forces: a heap profile's in-use figures are those of the collection before last, and an idle
// stall runs only two or three, so without one the profile at the sink's return showed the
// heap of the stall's first second. The forced collection sets the heap goal from what is live
// at that moment, as the stall's last collection does when it falls late, so a profiled run's
// catch-up is the stall's worst case, not its measure.
func (p *profile) heapAt(label string) error {
	if p.heap == "" {
		return nil
	}
	runtime.GC()
	return writeHeap(p.path(label))
}

// path is where a heap profile labelled label goes: <name>.<rep>.<label>.heap.pprof.
func (p *profile) path(label string) string {
	return strings.TrimSuffix(p.heap, ".heap.pprof") + "." + label + ".heap.pprof"
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (p *profile) stop() error {
	if p.cpu == nil {
		return nil
	}
	if p.trace != nil {
		trace.Stop()
		if err := p.trace.Close(); err != nil {
			return err
		}
	}
	pprof.StopCPUProfile()
	if err := p.cpu.Close(); err != nil {
		return err
	}
	return writeHeap(p.heap)
}

// profileProcess records a CPU profile of this whole process into dir/name.cpu.pprof when dir
// is set (-profile): the orchestrator's (the producers') and the broker's, so a live run can
// show whether the load generator or the broker is what limits it. The returned func stops it.
func profileProcess(dir, name string) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
