package workflows_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/workflows"
)

// eventScenarios are the recorded paths of runs that deliver outbound events (change
// workflows.ChangeRelease): the recorder's worker delivers to a loopback receiver.
func eventScenarios() []scenario {
	return []scenario{
		{
			name:  "events-success",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "events-fraud-reject",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESAborted, first.IdentificationID, treezor.ResultAborted, 3204)
				h.waitState(t, user, workflows.StateComplianceReview, 1)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
			},
			want: workflows.StateRejected,
		},
		{
			name:       "events-user-data-incomplete",
			incomplete: 1,
			input:      baseInput,
			drive: func(t *testing.T, h *harness, user string, _ workflows.IdentificationURLResult, err error) {
				require.Error(t, err)
				h.action(t, user, workflows.UpdateRestart, workflows.RestartRequest{Reason: "data completed"})
				again := h.identificationURL(t, user)
				h.qes(t, user, treezor.EventQESAborted, again.IdentificationID, treezor.ResultAborted, 3005) // declined
			},
			want: workflows.StateDeclined,
		},
		// releaseFollowUp: the run waits for its last events (changeDrainEventsAtEnd), the
		// compliance endpoint gets the internal view (changeComplianceEvents), the search
		// attributes carry the country and the update time (changeListAttributes).
		{
			name:  "followup-events-success",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:        "followup-events-handed-off",
			input:       baseInput,
			refuseFinal: 3,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "followup-compliance-fraud",
			input: baseInput,
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0)
				h.waitState(t, user, workflows.StateInProgress, 1)
				h.qes(t, user, treezor.EventQESAborted, first.IdentificationID, treezor.ResultAborted, 3204)
				h.waitState(t, user, workflows.StateComplianceReview, 1)
				h.action(t, user, workflows.UpdateComplianceDecision, workflows.ComplianceDecision{Decision: workflows.DecisionReject})
			},
			want: workflows.StateRejected,
		},
		{
			name: "followup-list-attributes-de",
			input: func(user string) workflows.Input {
				in := baseInput(user)
				in.Country, in.WalletID = "DE", "w-"+user
				return in
			},
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				h.qes(t, user, treezor.EventQESFinalized, first.IdentificationID, treezor.ResultSuccess, 0)
				h.waitState(t, user, workflows.StateAwaitingSEPA, 1)
				h.payin(t, user, "VALIDATED")
				h.document(t, user, "doc-"+first.IdentificationID)
				h.waitState(t, user, workflows.StateKYCReviewPending, 1)
				h.kyc(t, user, "2")
			},
			want: workflows.StateCompletedValidated,
		},
		{
			name:  "continue-as-new-events",
			input: withPolicy(workflows.PolicyOverride{ContinueAsNewAfter: 20}),
			drive: func(t *testing.T, h *harness, user string, first workflows.IdentificationURLResult, err error) {
				require.NoError(t, err)
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						h.identificationURL(t, user)
					}
				}()
				for range 6 {
					h.qes(t, user, treezor.EventQESCreated, first.IdentificationID, "", 0)
				}
				wg.Wait()
				succeed(t, h, user, first.IdentificationID, 1)
			},
			want: workflows.StateCompletedValidated,
		},
	}
}
