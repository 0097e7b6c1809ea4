package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/qesflow/qesflow/workflows"
)

// TestIntegration runs onboardings on a real in-process Temporal server with the real
// activities and Treezor client against an httptest Treezor, webhooks going through the
// real signature path, and checks what operators see: search attributes and the
// compliance queue.
func TestIntegration(t *testing.T) {
	h := newHarness(t)
	byName := map[string]scenario{}
	for _, sc := range scenarios() {
		byName[sc.name] = sc
	}

	t.Run("success", func(t *testing.T) {
		user := "int-success"
		runID, r := play(t, h, byName["success"], user)
		// The signed payloads it applied come back for the next run's deduplication.
		applied := r.AppliedHashes
		r.AppliedHashes = nil
		require.Len(t, applied, 4)
		for _, hash := range applied {
			require.Regexp(t, `^[0-9a-f]{64}$`, hash)
		}
		require.Equal(t, workflows.Result{UserID: user, State: workflows.StateCompletedValidated, Attempts: 1,
			KYCReview: 2, Note: "KYC review validated"}, r)
		// One identification and one review at Treezor, under the run's accessTags: asking
		// again with them replays the same answers.
		ident, _, ok := h.treezor.LastIdentification(user)
		require.True(t, ok)
		stats := h.treezor.Stats()
		require.Equal(t, 1, stats.IdentificationsCreated[user])
		require.Equal(t, 1, stats.KYCReviewRequests[user])
		api := h.treezor.Client(t)
		again, err := api.InitiateQES(ctxFor(t), user, "", "qesflow:int-success:"+runID+":qes:1")
		require.NoError(t, err)
		require.Equal(t, ident, again.IdentificationID)
		_, err = api.RequestKYCReview(ctxFor(t), user, "qesflow:int-success:"+runID+":kycreview:1")
		require.NoError(t, err)
		require.Equal(t, stats.AccessTagReplays+2, h.treezor.Stats().AccessTagReplays)
		require.Equal(t, 1, h.treezor.Stats().KYCReviewRequests[user])

		attrs := describeSearchAttributes(t, h, user)
		// The time of the last change (gate list-attributes): after the start, not later than now.
		updated, err := time.Parse(time.RFC3339Nano, attrs[workflows.SAQESUpdatedAt].(string))
		require.NoError(t, err)
		require.False(t, updated.After(time.Now()), "%v", updated)
		delete(attrs, workflows.SAQESUpdatedAt)
		require.Equal(t, map[string]any{
			workflows.SATreezorUserID:       user,
			workflows.SAQESState:            "COMPLETED_VALIDATED",
			workflows.SAQESAttempt:          int64(1),
			workflows.SAQESReasonCode:       int64(0),
			workflows.SAQESIdentificationID: ident,
			workflows.SAKYCReview:           "VALIDATED",
			// Every identification id of the run (gate identification-ids-attribute).
			workflows.SAQESIdentificationIDs: []any{ident},
			// The user's country (gate list-attributes): the start's, or Treezor's once read.
			workflows.SAQESCountry: "FR",
		}, attrs)
		requireListed(t, h, `TreezorUserId = 'int-success' AND QESState = 'COMPLETED_VALIDATED' AND KYCReview = 'VALIDATED' AND QESCountry = 'FR'`, user)
	})

	t.Run("second start returns the running onboarding", func(t *testing.T) {
		user := "int-idempotent"
		first, _, err := h.start(t, baseInput(user))
		require.NoError(t, err)
		again, _, err := h.start(t, baseInput(user))
		require.NoError(t, err)
		require.Equal(t, first, again)
		require.Equal(t, 1, h.treezor.Stats().IdentificationsCreated[user], "never a second identification")
		h.action(t, user, workflows.UpdateCancel, workflows.CancelRequest{})
		require.Equal(t, workflows.StateOperatorCancelled, h.result(t, user).State)
	})

	t.Run("a FAILED onboarding is listed as a failed execution", func(t *testing.T) {
		user := "int-failed"
		play(t, h, byName["attempts-used-fails"], user)
		requireListed(t, h, failedView, user) // the README's saved view
	})

	t.Run("fraud shows in the compliance queue", func(t *testing.T) {
		user := "int-fraud"
		sc := byName["fraud-clear"]
		first, _, err := h.start(t, sc.input(user))
		require.NoError(t, err)
		h.qes(t, user, "qes.finalized", first.IdentificationID, "FRAUD_SUSPICION_CONFIRMED", 3207)
		h.waitState(t, user, workflows.StateComplianceReview, 1)
		requireListed(t, h, `QESState = 'COMPLIANCE_REVIEW'`, user)
		requireListed(t, h, complianceQueueView, user) // the README's saved view
		require.Equal(t, int64(3207), describeSearchAttributes(t, h, user)[workflows.SAQESReasonCode])

		v, err := h.client.QueryWorkflow(ctxFor(t), workflows.WorkflowID(user), "", workflows.QueryUserStatus)
		require.NoError(t, err)
		var us workflows.UserStatus
		require.NoError(t, v.Get(&us))
		require.Equal(t, workflows.UserStatusUnderReview, us.Status)

		h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
		require.Equal(t, workflows.StateRejected, h.result(t, user).State)
	})
}

// describeSearchAttributes decodes the custom search attributes of the onboarding.
func describeSearchAttributes(t *testing.T, h *harness, user string) map[string]any {
	desc, err := h.client.DescribeWorkflowExecution(ctxFor(t), workflows.WorkflowID(user), "")
	require.NoError(t, err)
	out := map[string]any{}
	for name, p := range desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields() {
		if _, ours := workflows.SearchAttributeTypes()[name]; !ours {
			continue
		}
		var v any
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &v))
		if f, ok := v.(float64); ok { // JSON numbers of Int attributes
			v = int64(f)
		}
		out[name] = v
	}
	return out
}

// requireListed polls visibility (it may lag) until query lists the user's onboarding.
// The README's saved views of the Temporal UI's workflow list (Operating it).
const (
	complianceQueueView = `ExecutionStatus = 'Running' AND QESState IN ('FRAUD_SUSPECTED', 'COMPLIANCE_REVIEW')`
	failedView          = `ExecutionStatus = 'Failed' AND QESState = 'FAILED'`
)

func requireListed(t *testing.T, h *harness, query, user string) {
	require.Eventually(t, func() bool {
		resp, err := h.client.ListWorkflow(ctxFor(t), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return false
		}
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == workflows.WorkflowID(user) {
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "visibility query %q never listed %s", query, user)
}
