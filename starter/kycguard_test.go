package starter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// finishAndForget runs the user's onboarding to the KYC decision, then deletes the run, as
// retention does: Temporal no longer shows any onboarding for the user.
func finishAndForget(t *testing.T, env *flowEnv, userID string, decision treezorsim.KYCDecision, want workflows.State) {
	t.Helper()
	env.onboarding(env.create(userID, keyOnboarding, nil))
	identID, _ := env.identification(userID)
	require.NoError(t, env.sim.Act(identID, treezorsim.Success()))
	env.waitState(userID, workflows.StateKYCReviewPending)
	eventually(t, "the KYC review request at Treezor", func() bool {
		for _, u := range env.sim.PendingKYCReviews() {
			if u == userID {
				return true
			}
		}
		return false
	})
	require.NoError(t, env.sim.DecideKYC(userID, decision, "decided"))
	require.Equal(t, want, env.waitClosed(userID).State)

	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	// The namespace the test server made: the one that holds the run.
	execution := &commonpb.WorkflowExecution{WorkflowId: workflows.WorkflowID(userID)}
	namespaces, err := env.tc.WorkflowService().ListNamespaces(ctx, &workflowservice.ListNamespacesRequest{})
	require.NoError(t, err)
	deleted := false
	for _, ns := range namespaces.GetNamespaces() {
		name := ns.GetNamespaceInfo().GetName()
		if _, err := env.tc.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: name, Execution: execution}); err != nil {
			continue
		}
		_, err := env.tc.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
			Namespace: name, WorkflowExecution: execution})
		require.NoError(t, err)
		deleted = true
	}
	require.True(t, deleted, "no namespace holds %s", execution.GetWorkflowId())
	// The server deletes a run in the background; on a loaded machine that can take minutes.
	gone := false
	for deadline := time.Now().Add(3 * time.Minute); !gone && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := env.tc.DescribeWorkflowExecution(dctx, workflows.WorkflowID(userID), "")
		dcancel()
		gone = errIsNotFound(err)
	}
	require.True(t, gone, "the run of %s was not deleted", userID)
}

// The already-validated 409 survives retention: with the run gone, the API asks Treezor for
// the user's kycReview and refuses a second onboarding of a validated user; a refused user
// may start again, as when the run is still there. Without Treezor to ask, the same call
// starts a second onboarding of the validated user (what happened before).
func TestAlreadyValidatedHoldsAfterTheRunIsGone(t *testing.T) {
	env := newFlowEnv(t, Config{})
	guarded := startAPI(t, env.tc, Config{Treezor: env.sim.Client(t)}) // the same simulator, for the API's client

	// Both onboardings run at once: deleting a closed run takes the test server a while.
	validated, refused := env.fullUser("FR"), env.fullUser("FR")
	t.Run("forget", func(t *testing.T) {
		t.Run("validated", func(t *testing.T) {
			t.Parallel()
			finishAndForget(t, env, validated, treezorsim.KYCValidate, workflows.StateCompletedValidated)
		})
		t.Run("refused", func(t *testing.T) {
			t.Parallel()
			finishAndForget(t, env, refused, treezorsim.KYCRefuse, workflows.StateCompletedRefused)
		})
	})
	r := guarded.do(http.MethodPost, "/v1/onboardings", keyOnboarding, map[string]any{"userId": validated})
	require.Equal(t, http.StatusConflict, r.Status, "body: %s", r.Body)
	p := r.problem(t)
	require.Equal(t, ProblemTypePrefix+KindAlreadyValidated.String(), p.Type)
	require.Equal(t, workflows.StateCompletedValidated, p.LastResult.State)
	r = guarded.do(http.MethodPost, "/v1/onboardings", keyBoth, map[string]any{"userId": validated, "override": true})
	require.Equal(t, http.StatusConflict, r.Status, "not even with an override")
	require.Empty(t, env.sim.Identifications(validated)[1:], "no second identification")

	r = guarded.do(http.MethodPost, "/v1/onboardings", keyOnboarding, map[string]any{"userId": refused})
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)

	// A user Treezor has never seen is left to the workflow to report.
	fresh := env.fullUser("FR")
	r = guarded.do(http.MethodPost, "/v1/onboardings", keyOnboarding, map[string]any{"userId": fresh})
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)

	// The unguarded API (no Treezor client) would onboard the validated user a second time.
	r = env.create(validated, keyOnboarding, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
}
