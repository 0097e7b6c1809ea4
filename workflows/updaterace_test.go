package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// TestActionDeliveredWithTheWebhookThatEnablesIt is issue 18's "operator action refused on
// a stale state", on a real server: the webhook that puts the onboarding where an operator
// action applies (a fraud verdict: COMPLIANCE_REVIEW; a user-retry abort: WAITING_FOR_USER)
// and the action reach the run in one workflow task. The server orders the update after the
// signal (the update's sequencing event is the task's scheduled event), but the SDK runs
// the update's validator before the workflow's main coroutine, which is what applies
// webhooks: the validator saw AWAITING_USER and refused. The action must apply.
func TestActionDeliveredWithTheWebhookThatEnablesIt(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		user   string
		code   int // the reason of the qes.aborted webhook
		action string
		arg    any
	}{
		{"race-decision", 3204, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionClear, Note: "checked"}},
		{"race-restart", 3009, workflows.UpdateRestart, workflows.RestartRequest{Reason: "name corrected"}},
	}
	for _, tc := range cases {
		t.Run(tc.action, func(t *testing.T) {
			h.startIdle(t, baseInput(tc.user), func(*testing.T, *harness, string) {})
			st := h.waitState(t, tc.user, workflows.StateAwaitingUser, 1)
			res, err := h.actionWithWebhook(t, tc.user, tc.action, tc.arg, func() {
				h.qes(t, tc.user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, tc.code)
			})
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeNotApplicable {
				var seen workflows.ActionResult
				_ = appErr.Details(&seen)
				t.Fatalf("%s refused on state %s attempt %d, delivered after the webhook that enables it: %v", tc.action, seen.State, seen.Attempt, err)
			}
			require.NoError(t, err)
			require.Equal(t, 2, res.Attempt, "the action led to the next attempt")
			h.waitState(t, tc.user, workflows.StateAwaitingUser, 2)
			h.action(t, tc.user, workflows.UpdateCancel, workflows.CancelRequest{})
		})
	}
}

// TestActionRefusedAfterTheWebhookThatEndsIt: where the webhook delivered in the same task
// makes the action meaningless, the action is refused on the state after the webhook (the
// validator let it through; the handler refuses it) and the state is the webhook's.
func TestActionRefusedAfterTheWebhookThatEndsIt(t *testing.T) {
	h := newHarness(t)
	const user = "race-refused"
	h.startIdle(t, baseInput(user), func(*testing.T, *harness, string) {})
	st := h.waitState(t, user, workflows.StateAwaitingUser, 1)
	// A user-retry abort (WAITING_FOR_USER) then a fraud verdict on the same identification
	// (COMPLIANCE_REVIEW), with a restart: the restart meant WAITING_FOR_USER, the run is
	// under review when it reaches it.
	_, err := h.actionWithWebhook(t, user, workflows.UpdateRestart, workflows.RestartRequest{Reason: "late"}, func() {
		h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, treezor.ResultAborted, 3009)
		h.qes(t, user, treezor.EventQESFinalized, st.IdentificationID, treezor.ResultFraudSuspicionConfirmed, 3207)
	})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want a refusal, got %v", err)
	require.Equal(t, workflows.ErrTypeNotApplicable, appErr.Type())
	var seen workflows.ActionResult
	require.NoError(t, appErr.Details(&seen))
	require.Equal(t, workflows.StateComplianceReview, seen.State, "refused on the state after the webhooks")
	require.Equal(t, workflows.StateComplianceReview, h.status(t, user).State)
	h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
	require.Equal(t, workflows.StateRejected, h.result(t, user).State)
}

// actionWithWebhook stops the worker of the user's queue (startIdle), sends what send
// sends, sends the action and waits until the server admitted it, then starts a worker:
// its first task carries the webhooks and the action, as a worker or server restart does to
// a webhook and an action sent close together. It returns the action's answer.
func (h *harness) actionWithWebhook(t *testing.T, user, action string, arg any, send func()) (workflows.ActionResult, error) {
	h.mu.Lock()
	stop := h.idle[user]
	h.mu.Unlock()
	require.NotNil(t, stop, "user %s has no worker of its own (startIdle)", user)
	stop()
	send()
	updateID := action + "-" + user
	answered := make(chan error, 1)
	var res workflows.ActionResult
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		handle, err := h.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID: updateID, WorkflowID: workflows.WorkflowID(user), UpdateName: action,
			Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = handle.Get(ctx, &res)
		}
		answered <- err
	}()
	h.waitAdmitted(t, user, updateID)
	h.setIdleWorker(user, h.startWorkerOn(t, "idle-"+user))
	select {
	case err := <-answered:
		return res, err
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s of %s was never answered", action, user)
		return res, nil
	}
}

// startWorkerOn starts a worker of the onboarding on queue and returns its stop.
func (h *harness) startWorkerOn(t *testing.T, queue string) (stop func()) {
	w := worker.New(h.client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewOnboarding(eventConfig(h.acts.Events)), workflow.RegisterOptions{Name: workflows.WorkflowName})
	w.RegisterWorkflowWithOptions(workflows.QESEventDelivery, workflow.RegisterOptions{Name: workflows.EventDeliveryWorkflowName})
	w.RegisterActivity(h.acts)
	require.NoError(t, w.Start())
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			w.Stop()
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitAdmitted waits until the server has admitted the update updateID of the user's run.
func (h *harness) waitAdmitted(t *testing.T, user, updateID string) {
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := h.client.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
			Namespace: h.namespace,
			UpdateRef: &updatepb.UpdateRef{
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(user)},
				UpdateId:          updateID,
			},
			WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
		})
		return err == nil
	}, time.Minute, 20*time.Millisecond, "update %s never admitted", updateID)
}
