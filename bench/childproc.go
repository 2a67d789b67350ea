package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// childTimeout bounds one child: far above any scenario's length, so a wedged run fails the
// bench instead of hanging it.
const childTimeout = 10 * time.Minute

// runChildProc runs sp in a child process of this binary (under the wrap command, if any) and
// returns its result. onReady, if set, runs (on this goroutine) when a live child reports it
// owns every partition; the child's result is read after onReady returns.
func runChildProc(ctx context.Context, self string, wrap []string, sp spec, onReady func() error) (*result, error) {
	dir, err := os.MkdirTemp("", "weir-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sp.Dir = dir
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	args := append(slices.Clone(wrap), self, "-role", "child", "-spec", string(raw))
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var last []byte
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // the result's series can be long
	var readyErr error
	for sc.Scan() {
		line := sc.Bytes()
		if string(line) == readyLine && onReady != nil {
			if readyErr = onReady(); readyErr != nil {
				cancel()
			}
			continue
		}
		last = bytes.Clone(line)
	}
	waitErr := cmd.Wait()
	switch {
	case readyErr != nil:
		return nil, fmt.Errorf("%s: %w", sp.Name, readyErr)
	case waitErr != nil:
		return nil, fmt.Errorf("%s: child: %w", sp.Name, waitErr)
	}
	var r result
	if err := json.Unmarshal(last, &r); err != nil {
		return nil, fmt.Errorf("%s: reading the child's result: %w", sp.Name, err)
	}
	return &r, nil
}
