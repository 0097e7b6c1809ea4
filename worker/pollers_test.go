package worker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/internal/testenv"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
)

// busyWorkflow takes signals until the "stop" one; each workflow task costs some CPU, as
// onboardings in flight do, so that the worker's sticky queue keeps a backlog.
func busyWorkflow(ctx workflow.Context) error {
	ch := workflow.GetSignalChannel(ctx, "poke")
	for {
		var v string
		ch.Receive(ctx, &v)
		for ch.ReceiveAsync(&v) {
		}
		burn(10 * time.Millisecond)
		if v == "stop" {
			return nil
		}
	}
}

// burn keeps the CPU busy for d (a workflow task that computes, not one that waits).
func burn(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// quickWorkflow ends in its first workflow task.
func quickWorkflow(workflow.Context) error { return nil }

// TestNewWorkflowStartsWhileStickyQueueHasBacklog: a workflow started while the worker's
// sticky queue has a backlog (workflows in flight keep their worker busy) gets its first
// workflow task, which is on the task queue, within seconds. With the SDK's default pollers,
// which poll only the sticky queue while it reports a backlog, it waited until the load
// stopped: the onboarding API's start, which waits for that task, waited as long.
func TestNewWorkflowStartsWhileStickyQueueHasBacklog(t *testing.T) {
	ts := testenv.NewTemporal(t)
	c := ts.GetDefaultClient()
	tz := simtest.Start(t, treezorsim.Config{})
	const tq = "pollers-test"
	w, err := New(c, Options{TaskQueue: tq, Treezor: tz.Client(t), MaxConcurrentWorkflowTaskExecutionSize: 2, StickyCacheSize: 100})
	require.NoError(t, err)
	w.RegisterWorkflowWithOptions(busyWorkflow, workflow.RegisterOptions{Name: "busy"})
	w.RegisterWorkflowWithOptions(quickWorkflow, workflow.RegisterOptions{Name: "quick"})
	require.NoError(t, w.Start())
	defer w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const busy, load = 8, 15 * time.Second
	loadCtx, stopLoad := context.WithTimeout(ctx, load)
	defer stopLoad()
	var wg sync.WaitGroup
	for i := range busy {
		id := fmt.Sprintf("busy-%d", i)
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, "busy")
		require.NoError(t, err)
		wg.Add(1)
		go func() { // a signal every 2 ms: a workflow task is always pending for each busy workflow
			defer wg.Done()
			for loadCtx.Err() == nil {
				_ = c.SignalWorkflow(loadCtx, id, "", "poke", "x")
				time.Sleep(2 * time.Millisecond)
			}
			_ = c.SignalWorkflow(ctx, id, "", "poke", "stop")
		}()
	}
	defer wg.Wait()
	time.Sleep(2 * time.Second) // the sticky queue builds its backlog

	var waits []time.Duration
	for i := range 3 {
		start := time.Now()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("quick-%d", i), TaskQueue: tq}, "quick")
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		waits = append(waits, time.Since(start))
	}
	t.Logf("waits for the first workflow task: %v", waits)
	for i, wait := range waits {
		require.Less(t, wait, 3*time.Second, "start %d waited %s for its first workflow task (all: %v)", i, wait, waits)
	}
}
