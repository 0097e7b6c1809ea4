package hostile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/qesflow/qesflow/devstack"
	"github.com/qesflow/qesflow/internal/temporalclient"
	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// TestPlaintextSignalRefused: a client that reaches the frontend but lacks the payload
// encryption keys signals a made-up successful qes.finalized in clear. The workflow task
// that would apply it fails with a clear error; the onboarding's state and search
// attributes stay as they were.
func TestPlaintextSignalRefused(t *testing.T) {
	s := startStack(t)
	const userID = "plaintext-1"
	identificationID := runningOnboarding(t, s, userID)
	baseline := waitSnapshot(t, s, userID, "AWAITING_USER", func(sn snapshot) bool {
		return sn.State == workflows.StateAwaitingUser
	})
	baseState := searchAttribute(t, s, userID, workflows.SAQESState)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	plain, err := temporalclient.Dial(ctx, temporalclient.Options{Address: s.TemporalAddress, Namespace: s.Server.Namespace()})
	require.NoError(t, err)
	defer plain.Close()
	forged := treezor.Event{
		WebhookID: "forged-1", Type: "qes.finalized", Known: true, CreatedAt: time.Now(),
		UserID: userID, IdentificationID: identificationID, Result: "SUCCESS",
	}
	require.NoError(t, plain.SignalWorkflow(ctx, workflows.WorkflowID(userID), "", workflows.SignalWebhook, forged))

	// The signal is in history (Temporal accepted it), but its workflow task fails.
	require.Eventually(t, func() bool {
		return strings.Contains(workflowTaskFailure(t, s, userID), "not encrypted")
	}, callTimeout, 200*time.Millisecond, "no workflow task failed on the plaintext signal")
	require.Equal(t, baseState, searchAttribute(t, s, userID, workflows.SAQESState), "the forged signal moved the onboarding")
	require.Equal(t, historyCount{signals: 1, updates: 1}, historyCounts(t, s, userID))
	require.Equal(t, baseline.State, workflows.State(strings.Trim(baseState, `"`)))
}

// workflowTaskFailure is the error of the last failed workflow task of the onboarding,
// decoded with the stack's keys (failure messages are encrypted too); "" when none failed.
func workflowTaskFailure(t *testing.T, s *devstack.Stack, userID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	it := s.Client.GetWorkflowHistory(ctx, workflows.WorkflowID(userID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	last := ""
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if f := ev.GetWorkflowTaskFailedEventAttributes().GetFailure(); f != nil {
			last = temporalclient.EncodeFailureAttributes(s.DataConverter).FailureToError(f).Error()
		}
	}
	return last
}

// searchAttribute is the onboarding's keyword search attribute name as Temporal shows it.
func searchAttribute(t *testing.T, s *devstack.Stack, userID, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	desc, err := s.Client.DescribeWorkflowExecution(ctx, workflows.WorkflowID(userID), "")
	require.NoError(t, err)
	p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[name]
	require.NotNil(t, p, "search attribute %s", name)
	return string(p.GetData())
}
