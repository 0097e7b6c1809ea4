package starter

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/workflows"
)

// TestEndToEndOnboarding is the end-to-end test of the product: an onboarding created through
// the API, the user identified at the (simulated) provider, signed webhooks posted to the real
// bridge and signalled to the real workflow, the KYC review requested and validated, and the
// outcome read back through the API, which then refuses a second onboarding.
func TestEndToEndOnboarding(t *testing.T) {
	env := newFlowEnv(t, Config{ProductionMode: true})
	userID := env.fullUser("FR")

	// Create: 201 with the simulator's identification URL.
	first := env.onboarding(env.create(userID, keyOnboarding, map[string]any{"country": "fr"}))
	require.True(t, first.Created)
	require.Equal(t, userID, first.UserID)
	require.Equal(t, workflows.WorkflowID(userID), first.WorkflowID)
	require.NotEmpty(t, first.RunID)
	identID, identURL := env.identification(userID)
	require.Equal(t, identID, first.IdentificationID)
	require.Equal(t, identURL, first.IdentificationURL)
	require.Equal(t, 1, first.Attempt)

	// Create again: the same run and URL, 200.
	second := env.onboarding(env.create(userID, keyOnboarding, map[string]any{"country": "FR"}))
	require.False(t, second.Created)
	require.Equal(t, first.RunID, second.RunID)
	require.Equal(t, first.IdentificationURL, second.IdentificationURL)
	require.Len(t, env.sim.Identifications(userID), 1, "one identification, however many calls")

	st := env.details(userID)
	require.Equal(t, "FR", st.Country)
	require.Equal(t, identID, st.IdentificationID)

	// The user completes the identification at the provider; webhooks flow through the bridge.
	require.NoError(t, env.sim.Act(identID, treezorsim.Success()))
	env.waitState(userID, workflows.StateKYCReviewPending)
	eventually(t, "the KYC review request at Treezor", func() bool {
		return slices.Contains(env.sim.PendingKYCReviews(), userID)
	})
	us, _ := env.userStatus(userID)
	require.False(t, us.Final)

	// Compliance at Treezor validates the KYC review: user.kycreview VALIDATED.
	require.NoError(t, env.sim.DecideKYC(userID, treezorsim.KYCValidate, "documents in order"))
	final := env.waitState(userID, workflows.StateCompletedValidated)
	require.Equal(t, "VALIDATED", strings.ToUpper(final.KYCReview.String()))
	res := env.waitClosed(userID)
	require.Equal(t, workflows.StateCompletedValidated, res.State)

	us, _ = env.userStatus(userID)
	require.True(t, us.Final, "the user-safe status says the onboarding is over: %+v", us)

	// A validated user cannot be onboarded again: 409 with the last result.
	r := env.create(userID, keyOnboarding, nil)
	require.Equal(t, http.StatusConflict, r.Status, "body: %s", r.Body)
	p := r.problem(t)
	require.Equal(t, ProblemTypePrefix+KindAlreadyValidated.String(), p.Type)
	require.NotNil(t, p.LastResult)
	require.Equal(t, workflows.StateCompletedValidated, p.LastResult.State)
	require.Equal(t, first.RunID, p.RunID)
	// Not even with a compliance override.
	r = env.create(userID, keyBoth, map[string]any{"override": true})
	require.Equal(t, http.StatusConflict, r.Status)

	// Every webhook the simulator sent was accepted by the bridge.
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	require.NoError(t, env.sim.WaitIdle(ctx))
	require.NotEmpty(t, env.sim.Deliveries(userID))
	require.Empty(t, failedDeliveries(env.sim.Simulator, userID))

	// The identification URL and the keys never reached the logs.
	env.api.requireLogsClean(identURL, keyOnboarding, keyCompliance, keyBoth, "app.example.com")
	require.Equal(t, 1.0, env.api.counter("POST /v1/onboardings", "201"))
	require.Equal(t, 1.0, env.api.counter("POST /v1/onboardings", "200"))
	require.Equal(t, 2.0, env.api.counter("POST /v1/onboardings", "409"))
}

// failedDeliveries lists the webhooks for userID the bridge did not accept.
func failedDeliveries(sim *treezorsim.Simulator, userID string) []treezorsim.Delivery {
	var failed []treezorsim.Delivery
	for _, d := range sim.Deliveries(userID) {
		if !d.OK {
			failed = append(failed, d)
		}
	}
	return failed
}
