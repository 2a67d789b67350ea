//go:build !linux

package testproc

import "syscall"

// sysProcAttr puts the server in a process group of its own (Stop ends the group). Only Linux
// can have the kernel kill it with the process that started it (pdeathsig_linux.go).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
