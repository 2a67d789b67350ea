package workerproc

import "syscall"

// sysProcAttr has the kernel SIGKILL the worker when the test binary that started it dies: a
// binary killed by `go test -timeout` or SIGKILL runs no cleanup, and the worker would go on
// retrying its (in-process, now gone) broker. Go sets the signal after switching to the
// unprivileged user, which would otherwise clear it. It follows the OS thread that started the
// worker; Go ends a thread only when a goroutine locked to it returns, which tests do not do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
