package scaleout

import "syscall"

// childProcAttr has Linux kill the child if the test binary dies first (a panic, a
// timeout), so no process outlives its test.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
