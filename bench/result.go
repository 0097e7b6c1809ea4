package bench

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"
)

// resultWait bounds each wait for a workflow's result; workflowResult asks again after it.
//
// A flow's result is a long poll for the workflow's close event (GetWorkflowExecutionHistory,
// wait for the close event). The history service wakes such a poll through a channel that
// holds one notification and drops any that arrive while it is full
// (events.NotifierImpl.dispatchHistoryEventNotification, go.temporal.io/server v1.32.1
// service/history/events/notifier.go). When a notification that brings no new event (a
// workflow task started) is still in the channel as the workflow closes, the close is
// dropped, and api.GetOrPollWorkflowMutableState (service/history/api/get_workflow_util.go)
// waits out history.longPollExpirationInterval (20 s) before it answers. On a loaded machine
// that held a whole segment about 19 s after its last onboarding ended. A poll asked again
// reads the mutable state first and sees the close at once, so no flow waits more than
// resultWait beyond its close; a flow that runs longer than resultWait costs one more long
// poll per resultWait (most flows end sooner, and cost none).
const resultWait = 2 * time.Second

// workflowResult waits for the result of run runID of workflow wid and decodes it into
// valuePtr (nil: ignored), as client.WorkflowRun.Get does.
func workflowResult(ctx context.Context, c client.Client, wid, runID string, valuePtr any) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, resultWait)
		err := c.GetWorkflow(wctx, wid, runID).Get(wctx, valuePtr)
		expired := wctx.Err() != nil
		cancel()
		if err == nil || !expired || ctx.Err() != nil {
			return err
		}
	}
}
