package bench

import (
	"context"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	enumsspb "go.temporal.io/server/api/enums/v1"
	historyspb "go.temporal.io/server/api/history/v1"
	"go.temporal.io/server/common/clock"
	"go.temporal.io/server/common/definition"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/namespace"
	"go.temporal.io/server/service/history/events"
)

// missedCloseClient answers GetWorkflow with a run whose first Get waits until its context
// ends, as a long poll that missed the workflow's close does, and whose later Gets return the
// result at once, as a poll that reads the closed mutable state does. Describe says the
// workflow is closed, unless running is set.
type missedCloseClient struct {
	client.Client
	gets      int
	describes int
	missAll   bool // every Get misses the close
	running   bool
}

func (c *missedCloseClient) DescribeWorkflowExecution(ctx context.Context, wid, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.describes++
	status := enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	if c.running {
		status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}, nil
}

func (c *missedCloseClient) GetWorkflow(ctx context.Context, wid, runID string) client.WorkflowRun {
	return &missedCloseRun{c: c}
}

type missedCloseRun struct {
	client.WorkflowRun
	c *missedCloseClient
}

func (r *missedCloseRun) Get(ctx context.Context, valuePtr any) error {
	r.c.gets++
	if r.c.gets == 1 || r.c.missAll {
		<-ctx.Done()
		return ctx.Err()
	}
	*valuePtr.(*string) = "done"
	return nil
}

// TestWorkflowResultAsksAgainAfterAMissedClose: a result whose long poll missed the close
// arrives about resultWait later, not after the server's 20 s long poll.
func TestWorkflowResultAsksAgainAfterAMissedClose(t *testing.T) {
	c := &missedCloseClient{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var res string
	if err := workflowResult(ctx, c, "w", "r", &res); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); res != "done" || c.gets != 2 || c.describes != 1 || took > 2*resultCheck {
		t.Fatalf("result %q after %d gets and %d describes in %s, want done after 2 gets and 1 describe within %s",
			res, c.gets, c.describes, took, 2*resultCheck)
	}
}

// TestWorkflowResultStopsWithItsContext: a workflow that is still running is waited for
// until the flow's own context ends.
func TestWorkflowResultStopsWithItsContext(t *testing.T) {
	c := &missedCloseClient{missAll: true, running: true}
	ctx, cancel := context.WithTimeout(context.Background(), resultCheck*5/2)
	defer cancel()
	var res string
	if err := workflowResult(ctx, c, "w", "r", &res); err == nil || c.gets != 1 || c.describes != 2 {
		t.Fatalf("error %v after %d gets and %d describes, want one after 1 get and 2 describes", err, c.gets, c.describes)
	}
}

// TestServerDropsACloseBehindAStaleNotification documents the server behavior resultWait
// works around: a long poll's channel holds one notification, and the history service drops
// the workflow's close when an earlier notification is still in it. If this fails, a newer
// server no longer drops it, and workflowResult could wait with a single Get again.
func TestServerDropsACloseBehindAStaleNotification(t *testing.T) {
	n := events.NewNotifier(clock.NewRealTimeSource(), metrics.NoopMetricsHandler, func(namespace.ID, string) int32 { return 1 })
	n.Start()
	defer n.Stop()
	run := &commonpb.WorkflowExecution{WorkflowId: "w", RunId: "r"}
	key := definition.NewWorkflowKey("ns", "w", "r")
	_, ch, err := n.WatchHistoryEvent(key)
	if err != nil {
		t.Fatal(err)
	}
	notify := func(status enumspb.WorkflowExecutionStatus) {
		n.NotifyNewHistoryEvent(events.NewNotification("ns", run, 5, 0, 7, 4,
			enumsspb.WORKFLOW_EXECUTION_STATE_RUNNING, status, &historyspb.VersionHistories{}, nil))
	}
	notify(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING) // a workflow task started: no new event
	time.Sleep(200 * time.Millisecond)                // dispatched into the poll's channel
	notify(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)
	time.Sleep(200 * time.Millisecond) // dispatched, or dropped
	first := <-ch
	select {
	case second := <-ch:
		t.Fatalf("the close was kept (%s after %s): the server no longer drops it", second.WorkflowStatus, first.WorkflowStatus)
	case <-time.After(500 * time.Millisecond):
	}
	if first.WorkflowStatus != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("first notification %s, want the stale running one", first.WorkflowStatus)
	}
}
