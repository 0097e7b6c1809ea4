package treezorsim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

// TestRouteFaultAnswersBeforeProcessing: a route fault answers its status with Treezor's
// error body, changes nothing, applies to its route only and ends after Times calls.
func TestRouteFaultAnswersBeforeProcessing(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("12001", "FR"))
	h.sim.SetRouteFault("POST /v1/users/{userId}/qes", RouteFault{Status: http.StatusTooManyRequests, Times: 2})
	for range 2 {
		_, err := h.client.InitiateQES(context.Background(), "12001", "", "tag-12001")
		var apiErr *treezor.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
		require.Equal(t, "too_many_requests", apiErr.Type)
	}
	require.Zero(t, h.sim.Stats().IdentificationsCreated["12001"], "a faulted call creates nothing")
	_, err := h.client.GetUser(context.Background(), "12001")
	require.NoError(t, err, "other routes answer")
	_, err = h.client.InitiateQES(context.Background(), "12001", "", "tag-12001")
	require.NoError(t, err, "the fault ended after two calls")

	h.sim.SetRouteFault("GET /v1/users/{userId}", RouteFault{Status: http.StatusBadGateway})
	_, err = h.client.GetUser(context.Background(), "12001")
	kind, reason := treezor.Classify(err)
	require.Equal(t, treezor.FailureInfra, kind)
	require.Equal(t, treezor.ReasonUnavailable, reason, "the gateway's HTML 502: %v", err)
	h.sim.ClearRouteFaults()
	_, err = h.client.GetUser(context.Background(), "12001")
	require.NoError(t, err)
}

// TestRouteFaultOnTokenAndRevokedTokens: the token endpoint answers an OAuth error while
// faulted, and revoked tokens make the client fetch a new one.
func TestRouteFaultOnTokenAndRevokedTokens(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("12101", "FR"))
	h.sim.SetRouteFault("POST /oauth/token", RouteFault{Status: http.StatusUnauthorized})
	_, err := h.client.GetUser(context.Background(), "12101")
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonTokenRefused, reason, "%v", err)
	h.sim.SetRouteFault("POST /oauth/token", RouteFault{})

	_, err = h.client.GetUser(context.Background(), "12101")
	require.NoError(t, err)
	issued := h.sim.Stats().TokensIssued
	h.sim.RevokeTokens()
	_, err = h.client.GetUser(context.Background(), "12101")
	require.NoError(t, err, "the client retries once with a new token")
	require.Equal(t, issued+1, h.sim.Stats().TokensIssued)
}

// TestRouteFaultDelayThenProcesses: a fault with only a delay answers late, processed.
func TestRouteFaultDelayThenProcesses(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("12201", "FR"))
	h.sim.SetRouteFault("POST /v1/users/{userId}/qes", RouteFault{Delay: time.Minute, Times: 1})
	impatient, err := treezor.NewClient(treezor.Config{
		BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Timeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	_, err = impatient.InitiateQES(context.Background(), "12201", "", "tag-12201")
	require.Error(t, err)
	require.True(t, treezor.IsRetryable(err), "a timeout is retryable: %v", err)
	_, err = impatient.InitiateQES(context.Background(), "12201", "", "tag-12201")
	require.NoError(t, err, "one call only was delayed")
}

// TestRouteFaultForOneUser: a fault for one user leaves the others alone, and its message
// is Treezor's message (a 428 names the missing fields).
func TestRouteFaultForOneUser(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("12301", "FR"))
	h.sim.CreateUser(completeUser("12302", "FR"))
	h.sim.SetRouteFault("POST /v1/users/{userId}/qes", RouteFault{
		Status: http.StatusPreconditionRequired, Message: "The user's email and phone must be set", UserID: "12301", Times: 1,
	})
	_, err := h.client.InitiateQES(context.Background(), "12302", "", "tag-12302")
	require.NoError(t, err, "another user's call is not faulted")
	_, err = h.client.InitiateQES(context.Background(), "12301", "", "tag-12301")
	var apiErr *treezor.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, apiErr.UserDataIncomplete(), "%v", err)
	require.Equal(t, []string{"email", "phone"}, apiErr.MissingFields)
	_, err = h.client.InitiateQES(context.Background(), "12301", "", "tag-12301")
	require.NoError(t, err)
}
