package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkworker "go.temporal.io/sdk/worker"
)

// scaleWorker is the onboarding worker of the scale section: a process of its own, or a
// worker in this process.
type scaleWorker interface {
	// memory is the worker's own memory; ok is false when it shares this process.
	memory() (m memory, ok bool, err error)
	stop() error
}

// startScaleWorker starts the worker of the scale section's task queue and waits until it
// polls. stickyCacheSize 0 keeps the default.
func (r *runner) startScaleWorker(ctx context.Context, taskQueue string, stickyCacheSize int, logName string) (scaleWorker, error) {
	p := r.product
	if r.cfg.WorkerCommand == nil {
		w, err := p.newWorker(taskQueue, stickyCacheSize)
		if err != nil {
			return nil, err
		}
		if err := w.Start(); err != nil {
			return nil, fmt.Errorf("start scale worker: %w", err)
		}
		return inProcessWorker{w}, nil
	}
	cmd := r.cfg.WorkerCommand(WorkerProcess{
		TemporalAddress:     r.tuned.server.FrontendAddress(),
		Namespace:           r.tuned.server.Namespace(),
		TaskQueue:           taskQueue,
		TreezorBaseURL:      p.simURL,
		TreezorClientID:     p.treezorID,
		TreezorClientSecret: p.treezorSecret,
		CodecKeys:           p.codecKeys,
		DocumentDir:         filepath.Join(r.tuned.dataDir, "documents"),
		StickyCacheSize:     stickyCacheSize,
	})
	logFile, err := os.Create(filepath.Join(r.cfg.DataDir, logName))
	if err != nil {
		return nil, fmt.Errorf("worker process log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start worker process: %w", err)
	}
	w := &processWorker{cmd: cmd, log: logFile, exited: make(chan error, 1)}
	go func() { w.exited <- cmd.Wait() }()
	if err := r.waitPolling(ctx, taskQueue, cmd.Process.Pid, w.exited); err != nil {
		_ = w.stop()
		return nil, fmt.Errorf("worker process (log: %s): %w", logFile.Name(), err)
	}
	return w, nil
}

// waitPolling waits until a worker of process pid polls taskQueue.
func (r *runner) waitPolling(ctx context.Context, taskQueue string, pid int, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prefix := strconv.Itoa(pid) + "@"
	return waitFor(ctx, 200*time.Millisecond, func() (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("exited before polling: %v", err)
		default:
		}
		resp, err := r.product.client.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return false, nil
		}
		for _, poller := range resp.GetPollers() {
			if strings.HasPrefix(poller.GetIdentity(), prefix) {
				return true, nil
			}
		}
		return false, nil
	})
}

type inProcessWorker struct{ w sdkworker.Worker }

func (w inProcessWorker) memory() (memory, bool, error) { return memory{}, false, nil }
func (w inProcessWorker) stop() error                   { w.w.Stop(); return nil }

type processWorker struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan error
}

func (w *processWorker) memory() (memory, bool, error) {
	m, err := readMemory(strconv.Itoa(w.cmd.Process.Pid))
	return m, err == nil, err
}

// stop asks the worker to stop (SIGTERM: it finishes its tasks) and kills it after 30 s.
func (w *processWorker) stop() error {
	defer w.log.Close()
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return fmt.Errorf("worker process: %w", err)
		}
		if exit != nil && !exit.Exited() { // ended by the signal itself
			return nil
		}
		if err != nil {
			return fmt.Errorf("worker process (log: %s): %w", w.log.Name(), err)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
		return errors.New("worker process did not stop within 30 s of SIGTERM; killed")
	}
}
