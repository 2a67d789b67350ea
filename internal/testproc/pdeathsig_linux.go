package testproc

import "syscall"

// sysProcAttr puts the server in a process group of its own (Stop ends the group) and has the
// kernel SIGKILL it when the process that started it dies: a test binary killed by
// `go test -timeout`, SIGKILL or the OOM killer runs no cleanup, and its servers would
// otherwise keep their ports and memory on a shared machine. The signal follows the OS thread
// that started the server, not the process; Go ends a thread only when a goroutine locked to it
// returns, which the callers here never do. The servers are started as direct children (node
// runs kinesalite's cli.js itself, not through npx), so the server is the process signalled.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
