package scaleout

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is one OS process of the qesflow binary, its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
}

// startProcess runs bin with args and the hermetic environment env; its stdout and stderr
// go to <dir>/<name>.log. The caller stops it.
func startProcess(t *testing.T, bin, dir, name string, args []string, env map[string]string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create the log of %s: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = hermeticEnv(env)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p
}

// hermeticEnv is this process's environment without any qesflow, Temporal or Treezor
// setting, plus env: every process gets exactly the configuration the test gives it.
func hermeticEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(key, "QESFLOW_") || strings.HasPrefix(key, "TEMPORAL_") || strings.HasPrefix(key, "TREEZOR_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL (no shutdown, no cleanup: a crash) and waits for the process to end.
// It fails unless the process was running and died of that signal.
func (p *process) kill() error {
	if p.exited() {
		return fmt.Errorf("%s had already exited: %v", p.name, p.waitErr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not die within 30s of SIGKILL", p.name)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		return fmt.Errorf("%s ended with %v, not by SIGKILL", p.name, p.waitErr)
	}
	return nil
}

// stop asks the process to shut down (SIGTERM) and kills it after grace.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// status describes the process for failure messages.
func (p *process) status() string {
	if !p.exited() {
		return "running"
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return "exited: " + ee.String()
	}
	return fmt.Sprintf("exited: %v", p.waitErr)
}

// freePort returns a TCP port on loopback that was free a moment ago, chosen below Linux's
// ephemeral range (32768–60999): a port the kernel hands out to another process's outgoing or
// port-0 socket between this check and the child's bind would fail the child's start.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("find a free port: 200 tries below the ephemeral range failed")
	return 0
}
