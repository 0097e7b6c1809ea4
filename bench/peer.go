package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/internal/temporalclient"
)

// PeerCLIVersion is the version of the official Temporal CLI (module github.com/temporalio/cli)
// whose dev server the bench compares with: the newest the Go module proxy serves, built on
// go.temporal.io/server v1.32.0, next to our v1.32.1.
const PeerCLIVersion = "v1.9.1"

// peerNamespace is the namespace `temporal server start-dev` creates.
const peerNamespace = "default"

// DefaultPeerCLI is where scripts/build-temporal-cli.sh puts the CLI it builds, and where the
// bench looks for it when Config.PeerCLI is empty.
func DefaultPeerCLI() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "qesflow", "temporal-cli-"+PeerCLIVersion, "temporal")
}

// peer is the official dev server (`temporal server start-dev`) in a child process, with a
// client and the bare worker in this process, as the bare flow runs against our own servers.
type peer struct {
	cmd        *exec.Cmd
	client     client.Client
	bareWorker sdkworker.Worker
	stderr     bytes.Buffer
	exited     chan struct{}
}

// startPeer starts `cli server start-dev` on loopback ports; dbFile "" keeps its store in
// memory, otherwise it is its SQLite file.
func startPeer(ctx context.Context, cli, dbFile string, log *zap.Logger) (_ *peer, err error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]), "--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]), "--log-level", "error"}
	if dbFile != "" {
		args = append(args, "--db-filename", dbFile)
	}
	p := &peer{cmd: exec.Command(cli, args...), exited: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	p.cmd.Stdout = &p.stderr
	// Its own process group: a SIGINT to the bench reaches the dev server only through stop.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cli, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	defer func() {
		if err != nil {
			err = errors.Join(err, p.stop())
		}
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	dialCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := waitFor(dialCtx, 200*time.Millisecond, func() (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("the dev server exited: %s", strings.TrimSpace(p.stderr.String()))
		default:
		}
		c, err := temporalclient.Dial(dialCtx, temporalclient.Options{Address: addr, Namespace: peerNamespace, Logger: log.Named("sdk")})
		if err != nil {
			return false, nil
		}
		p.client = c
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("dial the dev server at %s: %w", addr, err)
	}
	p.bareWorker = newBareWorker(p.client, BareTaskQueue)
	if err := p.bareWorker.Start(); err != nil {
		return nil, fmt.Errorf("start bare worker on the dev server: %w", err)
	}
	return p, nil
}

// cpu is the user and system time the dev server's process has used so far.
func (p *peer) cpu() time.Duration {
	return childCPU(p.cmd.Process.Pid)
}

// stop stops the worker and the client, then the dev server (SIGTERM, SIGKILL after 30 s).
func (p *peer) stop() error {
	if p.bareWorker != nil {
		p.bareWorker.Stop()
	}
	if p.client != nil {
		p.client.Close()
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return errors.New("the dev server did not stop within 30 s of SIGTERM; killed")
	}
}

// freePorts are n loopback TCP ports free at the time of the call.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clockTicks is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTicks = 100

// childCPU is the user and system time of process pid from /proc (0 when it cannot be read).
func childCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from after it.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// startPeers starts the official dev server twice, on a SQLite file and in memory.
func (r *runner) startPeers(ctx context.Context) (err error) {
	cli := r.cfg.PeerCLI
	if cli == "" {
		cli = DefaultPeerCLI()
	}
	if _, err := os.Stat(cli); err != nil {
		return fmt.Errorf("the official Temporal CLI %s: %w (build it with scripts/build-temporal-cli.sh, "+
			"pass --peer-cli, or leave the peer out with --skip-peer)", cli, err)
	}
	dir := filepath.Join(r.cfg.DataDir, peerDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("peer data directory: %w", err)
	}
	r.progress("starting the official dev server (%s server start-dev), SQLite file and in memory", cli)
	if r.peerFile, err = startPeer(ctx, cli, filepath.Join(dir, "temporal.db"), r.cfg.Logger); err != nil {
		return fmt.Errorf("official dev server on a file: %w", err)
	}
	if r.peerMemory, err = startPeer(ctx, cli, "", r.cfg.Logger); err != nil {
		return fmt.Errorf("official dev server in memory: %w", err)
	}
	return nil
}

// addPeerRows adds the official dev server's segments and the ratios against them.
func (r *runner) addPeerRows(sec *Section, totals map[flowKind]runStats) {
	file, memory, tuned, full := totals[peerFile], totals[peerMemory], totals[bareTuned], totals[fullPath]
	sec.add(Row{Measure: "bare flow, official dev server " + PeerCLIVersion + " (SQLite file)", Value: rate(file, "flows"),
		Latency: latency(file), CPU: cpuEach(file)})
	sec.add(Row{Measure: "bare flow, official dev server " + PeerCLIVersion + " (in memory)", Value: rate(memory, "flows"),
		Latency: latency(memory), CPU: cpuEach(memory)})
	sec.add(ratioRow("tuned embedded ÷ official dev server (file), bare flow", tuned.PerSecond(), file.PerSecond(), targetTunedOverPeerFile))
	sec.add(ratioRow("tuned embedded ÷ official dev server (memory), bare flow", tuned.PerSecond(), memory.PerSecond(), targetTunedOverPeerMemory))
	sec.add(ratioRow("full path ÷ official dev server (file) bare flow", full.PerSecond(), file.PerSecond(), targetFullOverPeerFile))
	sec.note("the official dev server: `temporal server start-dev --headless --log-level error` of github.com/temporalio/cli " +
		PeerCLIVersion + " in a child process, with `--db-filename` for the file; the bare flow's client and worker run in " +
		"this process, and its CPU each adds the dev server process's CPU to this process's")
}
