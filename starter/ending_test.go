package starter

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/outbound"
	"github.com/qesflow/qesflow/outbound/outboundtest"
	"github.com/qesflow/qesflow/workflows"
)

// TestCreateWhileTheLastRunWaitsForItsEvents: the user's onboarding was cancelled and its
// run, ended, waits a moment for its last event, which the backend refuses. A new start in
// that moment waits for the run to close and starts the next onboarding (201), instead of
// answering 409; the ended run handed its event to a QESEventDelivery workflow.
func TestCreateWhileTheLastRunWaitsForItsEvents(t *testing.T) {
	secret := outboundtest.Secret("starter-backend")
	rcv := outboundtest.NewReceiver(t, secret)
	secrets, err := outbound.ParseSecrets(secret)
	require.NoError(t, err)
	sender, err := outbound.NewSender(outbound.Config{Secrets: secrets, Endpoints: []outbound.Endpoint{{Name: "backend", URL: rcv.URL}}})
	require.NoError(t, err)
	env := newFlowEnvWith(t, Config{}, sender)

	userID := env.fullUser("FR")
	first := env.onboarding(env.create(userID, keyOnboarding, nil))
	rcv.SetAnswer(func(d outboundtest.Delivery) int {
		if d.Event.Data.Final {
			return http.StatusServiceUnavailable // the backend is down when the onboarding ends
		}
		return http.StatusNoContent
	})
	r := env.api.do(http.MethodPost, "/v1/onboardings/"+userID+"/cancel", keyOnboarding, `{"reason":"user left"}`)
	require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)

	again := env.create(userID, keyOnboarding, nil)
	require.Equal(t, http.StatusCreated, again.Status, "body: %s", again.Body)
	next := env.onboarding(again)
	require.NotEqual(t, first.RunID, next.RunID)
	require.NotEmpty(t, next.IdentificationURL)

	desc, err := env.tc.DescribeWorkflowExecution(context.Background(), workflows.EventDeliveryID(userID, first.RunID), "")
	require.NoError(t, err, "the ended run handed its last event over")
	require.Equal(t, workflows.EventDeliveryWorkflowName, desc.GetWorkflowExecutionInfo().GetType().GetName())
	require.NotEmpty(t, rcv.All(), "the backend was tried")
}
