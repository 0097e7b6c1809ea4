package starter

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// betweenCalls is a Temporal client that runs a hook once, right after Start's
// DescribeWorkflowExecution answered: it forces an interleaving where the run Start
// checked ends before Start acts.
type betweenCalls struct {
	client.Client
	mu   sync.Mutex
	hook func()
}

func (b *betweenCalls) DescribeWorkflowExecution(ctx context.Context, wid, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	resp, err := b.Client.DescribeWorkflowExecution(ctx, wid, runID)
	b.mu.Lock()
	hook := b.hook
	b.hook = nil
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	return resp, err
}

// TestStartRechecksARunThatEndsBetweenCheckAndStart (issue 18, defect 2): a POST
// /v1/onboardings that finds the user's onboarding running, while compliance rejects it
// before the start, gets the 409 of a rejected onboarding and starts nothing. Before the
// fix it started a new run and a second Treezor identification, bypassing the rule.
func TestStartRechecksARunThatEndsBetweenCheckAndStart(t *testing.T) {
	env := newFlowEnv(t, Config{})
	tc := &betweenCalls{Client: env.tc}
	svc, err := NewService(Config{Temporal: tc, Logger: zap.NewNop()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	userID := env.fullUser("FR")
	first, err := svc.Start(ctx, StartRequest{UserID: userID})
	require.NoError(t, err)
	require.NoError(t, env.sim.Act(first.IdentificationID, treezorsim.Fraud(3201)))
	env.t = t
	env.waitState(userID, workflows.StateComplianceReview)

	tc.hook = func() {
		rejectNow(t, env.tc, userID)
		require.Equal(t, workflows.StateRejected, env.waitClosed(userID).State)
	}
	_, err = svc.Start(ctx, StartRequest{UserID: userID})
	require.Nil(t, tc.hook, "the run ended between the check and the start")
	require.Error(t, err)
	require.Equal(t, KindRejected, KindOf(err), "%v", err)
	require.Len(t, env.sim.Identifications(userID), 1, "no second identification")

	desc, err := env.tc.DescribeWorkflowExecution(ctx, workflows.WorkflowID(userID), "")
	require.NoError(t, err)
	require.Equal(t, first.RunID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "no new run")
}

// rejectNow applies a compliance reject to the user's running onboarding.
func rejectNow(t *testing.T, tc client.Client, userID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(userID), UpdateName: workflows.UpdateComplianceDecision,
		Args:         []any{workflows.ComplianceDecision{Decision: workflows.DecisionReject}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	require.NoError(t, h.Get(ctx, nil))
}
