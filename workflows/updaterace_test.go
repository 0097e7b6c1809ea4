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
// signal (its sequencing event is the task's scheduled event), but the SDK runs the update's
// validator before the workflow's main coroutine, which is what applies webhooks: the
// validator used to see AWAITING_USER and refuse. The action must apply.
//
// The worker is stopped while both arrive, so the next worker's first task carries both;
// that is what a worker or server restart does to a webhook and an action sent close
// together in the chaos suite.
func TestActionDeliveredWithTheWebhookThatEnablesIt(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name    string
		result  string
		code    int
		action  string
		arg     any
		attempt int // the attempt the action leads to
	}{
		{"compliance decision after a fraud verdict", treezor.ResultAborted, 3204,
			workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionClear, Note: "checked"}, 2},
		{"restart after a user-retry abort", treezor.ResultAborted, 3009,
			workflows.UpdateRestart, workflows.RestartRequest{Reason: "name corrected"}, 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := []string{"race-decision", "race-restart"}[i]
			queue := "race-" + user
			stop := h.startWorkerOn(t, queue)
			_, err := h.client.ExecuteWorkflow(ctxFor(t), client.StartWorkflowOptions{
				ID: workflows.WorkflowID(user), TaskQueue: queue,
				TypedSearchAttributes: workflows.StartSearchAttributes(user),
			}, workflows.WorkflowName, baseInput(user))
			require.NoError(t, err)
			st := h.waitState(t, user, workflows.StateAwaitingUser, 1)
			stop()

			h.qes(t, user, treezor.EventQESAborted, st.IdentificationID, tc.result, tc.code)
			updateID := "action-" + user
			answered := make(chan error, 1)
			var res workflows.ActionResult
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				handle, err := h.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
					UpdateID: updateID, WorkflowID: workflows.WorkflowID(user), UpdateName: tc.action,
					Args: []any{tc.arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
				})
				if err == nil {
					err = handle.Get(ctx, &res)
				}
				answered <- err
			}()
			h.waitAdmitted(t, user, updateID)
			h.startWorkerOn(t, queue)

			select {
			case err := <-answered:
				var appErr *temporal.ApplicationError
				if errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeNotApplicable {
					var seen workflows.ActionResult
					_ = appErr.Details(&seen)
					t.Fatalf("%s refused on state %s attempt %d, delivered after the webhook that enables it: %v", tc.action, seen.State, seen.Attempt, err)
				}
				require.NoError(t, err)
			case <-time.After(2 * time.Minute):
				t.Fatal("the action was never answered")
			}
			require.Equal(t, tc.attempt, res.Attempt, "the action led to the next attempt")
			h.waitState(t, user, workflows.StateAwaitingUser, tc.attempt)
			h.action(t, user, workflows.UpdateCancel, workflows.CancelRequest{})
		})
	}
}

// startWorkerOn starts a worker of the onboarding on queue and returns its stop.
func (h *harness) startWorkerOn(t *testing.T, queue string) (stop func()) {
	w := worker.New(h.client, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.NewOnboarding(workflows.Config{Events: h.acts.Events != nil}), workflow.RegisterOptions{Name: workflows.WorkflowName})
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
