package bench

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// resultCheck is how often workflowResult checks whether a workflow whose result has not
// arrived has closed.
//
// A flow's result is a long poll for the workflow's close event (GetWorkflowExecutionHistory,
// close event only). The history service wakes such a poll through a channel that holds one
// notification and drops any that arrive while it is full
// (events.NotifierImpl.dispatchHistoryEventNotification, go.temporal.io/server v1.32.1
// service/history/events/notifier.go). When a notification that brings no new event (a
// workflow task started) is still in the channel as the workflow closes, the close is
// dropped, and api.GetOrPollWorkflowMutableState (service/history/api/get_workflow_util.go)
// waits out history.longPollExpirationInterval (20 s) before it answers. On a loaded machine
// that held a whole segment about 19 s after its last onboarding ended.
//
// A shorter deadline on the poll itself is no cure: the server answers a poll 1 s before its
// deadline (common.DefaultLongPollBuffer) and the SDK then asks again at once, so the poll
// would spin through its last second. A check is one DescribeWorkflowExecution for each
// resultCheck that a flow's result is still awaited; most flows end sooner and cost none.
const resultCheck = 2 * time.Second

// workflowResult waits for the result of run runID of workflow wid and decodes it into
// valuePtr (nil: ignored), as client.WorkflowRun.Get does, but no longer than about
// resultCheck after the workflow closed.
func workflowResult(ctx context.Context, c client.Client, wid, runID string, valuePtr any) error {
	pollCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.GetWorkflow(pollCtx, wid, runID).Get(pollCtx, valuePtr) }()
	tick := time.NewTicker(resultCheck)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			d, err := c.DescribeWorkflowExecution(ctx, wid, runID)
			if err != nil || d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue // the poll still answers, or ctx's end does
			}
			// Closed, and the poll has not answered: it missed the close. A new poll reads
			// the closed workflow at once.
			cancel()
			<-done
			return c.GetWorkflow(ctx, wid, runID).Get(ctx, valuePtr)
		}
	}
}
