//go:build !linux

package workerproc

import "syscall"

// sysProcAttr: only Linux can have the kernel kill the worker with the test binary
// (pdeathsig_linux.go).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
