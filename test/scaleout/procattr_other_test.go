//go:build !linux

package scaleout

import "syscall"

// childProcAttr: without Pdeathsig, the children are stopped by the test's cleanup only.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
