package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// fleet runs the worker processes: the built weir binary, one process per slot at a time, all
// with the trial's configuration file, each incarnation with a client id of its own (so the
// harness can find its member in the group) and its log in a file of its own.
type fleet struct {
	dir     string // the trial's: each worker's working directory
	weir    string
	config  string
	logDir  string
	emfDir  string
	idVar   string // the variable naming an incarnation to the source (bed.idVar)
	env     []string
	drainBy time.Duration // the workers' shutdown_timeout plus a margin: a SIGTERM not done by then is escalated

	mu    sync.Mutex
	procs map[int]*workerProc // the slot's current (or last) incarnation
	incs  map[int]int
	// unexpected collects exits nobody asked for (a worker that crashed or gave up).
	unexpected []string
}

// workerProc is one incarnation of a slot.
type workerProc struct {
	slot     int
	inc      int
	clientID string
	log      string
	cmd      *exec.Cmd
	done     chan struct{}
	exitErr  error

	mu     sync.Mutex
	signal syscall.Signal // what the harness sent; 0 while it sent nothing
	// frozen is true between a SIGSTOP and its SIGCONT. Neither is recorded in signal: a
	// frozen worker that exits on its own is still an unexpected exit.
	frozen bool
}

func newFleet(weir, config, dir, idVar string, env []string, drainBy time.Duration) (*fleet, error) {
	f := &fleet{dir: dir, weir: weir, config: config, logDir: filepath.Join(dir, "logs"), emfDir: filepath.Join(dir, "emf"),
		idVar: idVar, env: env, drainBy: drainBy, procs: map[int]*workerProc{}, incs: map[int]int{}}
	for _, d := range []string{f.logDir, f.emfDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// start starts a new incarnation of slot.
func (f *fleet) start(slot int) (*workerProc, error) {
	f.mu.Lock()
	if p := f.procs[slot]; p != nil && !p.exited() {
		f.mu.Unlock()
		return nil, fmt.Errorf("worker %d is still running", slot)
	}
	f.incs[slot]++
	inc := f.incs[slot]
	f.mu.Unlock()

	id := fmt.Sprintf("chaos-w%d-%d", slot, inc)
	logPath := filepath.Join(f.logDir, id+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(f.weir, "-config", f.config)
	cmd.Env = append(append([]string(nil), f.env...),
		f.idVar+"="+id,
		"WEIR_SINKS_CLOUDWATCH_EMF_PATH="+filepath.Join(f.emfDir, id+".emf"))
	cmd.Dir = f.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// A worker must not outlive the harness: if the harness dies, the kernel kills it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting worker %s: %w", id, err)
	}
	p := &workerProc{slot: slot, inc: inc, clientID: id, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.done)
		if p.sent() == 0 {
			f.mu.Lock()
			f.unexpected = append(f.unexpected, fmt.Sprintf("%s exited on its own (%v); log %s", id, p.exitErr, logPath))
			f.mu.Unlock()
		}
	}()
	f.mu.Lock()
	f.procs[slot] = p
	f.mu.Unlock()
	return p, nil
}

// current is slot's running incarnation, or nil.
func (f *fleet) current(slot int) *workerProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.procs[slot]; p != nil && !p.exited() {
		return p
	}
	return nil
}

// last is slot's latest incarnation, running or not; nil if it never ran.
func (f *fleet) last(slot int) *workerProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.procs[slot]
}

// kill sends SIGKILL to slot's worker and waits until it is gone.
func (f *fleet) kill(slot int) (*workerProc, error) {
	p := f.current(slot)
	if p == nil {
		return nil, fmt.Errorf("worker %d is not running", slot)
	}
	p.send(syscall.SIGKILL)
	<-p.done
	return p, nil
}

// term sends SIGTERM to slot's worker and returns at once; wait reports how the drain went.
func (f *fleet) term(slot int) (*workerProc, error) {
	p := f.current(slot)
	if p == nil {
		return nil, fmt.Errorf("worker %d is not running", slot)
	}
	// A frozen worker would take the signal only when its freeze ends, and its drain could
	// then outlast drainBy: the SIGTERM cuts the freeze short, as ECS stopping a throttled
	// task does.
	f.thaw(p)
	p.send(syscall.SIGTERM)
	return p, nil
}

// freeze stops p (SIGSTOP) until thaw.
func (f *fleet) freeze(p *workerProc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
	_ = p.cmd.Process.Signal(syscall.SIGSTOP) // fails only once p has exited: nothing to freeze
}

// thaw continues p if it is frozen; it does nothing otherwise, so a freeze's own end and the
// harness's thawing before a SIGTERM or the teardown may both come.
func (f *fleet) thaw(p *workerProc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		p.frozen = false
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// termResult is how a SIGTERMed worker went.
type termResult struct {
	Took      time.Duration `json:"took"`
	Escalated bool          `json:"escalated,omitempty"` // still running after drainBy: SIGKILLed
	ExitErr   string        `json:"exit_err,omitempty"`  // a drain that ended in an error
}

// waitTerm waits for a SIGTERMed worker to exit, SIGKILLing it if it is still draining after
// drainBy.
func (f *fleet) waitTerm(p *workerProc, since time.Time) termResult {
	var r termResult
	select {
	case <-p.done:
	case <-time.After(f.drainBy - time.Since(since)):
		r.Escalated = true
		p.send(syscall.SIGKILL)
		<-p.done
	}
	r.Took = time.Since(since).Round(time.Millisecond)
	if p.exitErr != nil && !r.Escalated {
		r.ExitErr = p.exitErr.Error()
	}
	return r
}

// stopAll SIGTERMs every running worker and waits for them all (escalating as waitTerm does).
func (f *fleet) stopAll() []termResult {
	f.mu.Lock()
	var running []*workerProc
	for _, p := range f.procs {
		if !p.exited() {
			running = append(running, p)
		}
	}
	f.mu.Unlock()
	since := time.Now()
	for _, p := range running {
		f.thaw(p) // no worker stays stopped past a trial
		p.send(syscall.SIGTERM)
	}
	rs := make([]termResult, len(running))
	for i, p := range running {
		rs[i] = f.waitTerm(p, since)
	}
	return rs
}

// killAll is the harness's last resort on its way out: nothing may outlive a trial.
func (f *fleet) killAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		if !p.exited() {
			p.send(syscall.SIGKILL)
			<-p.done
		}
	}
}

// unexpectedExits returns the exits nobody asked for so far.
func (f *fleet) unexpectedExits() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unexpected...)
}

func (p *workerProc) send(sig syscall.Signal) {
	p.mu.Lock()
	p.signal = sig
	p.mu.Unlock()
	// Signalling our own child fails only once it has exited, which is what the signal asks.
	_ = p.cmd.Process.Signal(sig)
}

func (p *workerProc) sent() syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signal
}

func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
