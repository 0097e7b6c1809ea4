package treezorsim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

func TestAPIFault5xxHappensBeforeProcessing(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.APIFaultRate = 1 })
	h.sim.CreateUser(completeUser("11001", "FR"))
	seen := map[int]bool{}
	for range 12 {
		_, err := h.client.InitiateQES(context.Background(), "11001", "", "tag-11001")
		var apiErr *treezor.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Contains(t, []int{500, 502, 503}, apiErr.StatusCode)
		require.True(t, treezor.IsRetryable(err))
		seen[apiErr.StatusCode] = true
	}
	require.Len(t, seen, 3, "500, 502 and 503 all occur")
	_, err := h.client.RequestKYCReview(context.Background(), "11001", "")
	require.Error(t, err)

	stats := h.sim.Stats()
	require.Zero(t, stats.IdentificationsCreated["11001"], "a 5xx fault creates nothing")
	require.Zero(t, stats.KYCReviewRequests["11001"])
	require.Equal(t, 13, stats.APIErrors)

	h.sim.SetChaos(Chaos{})
	ident, err := h.client.InitiateQES(context.Background(), "11001", "", "tag-11001")
	require.NoError(t, err)
	require.NotEmpty(t, ident.IdentificationID)
	require.Equal(t, 1, h.sim.Stats().IdentificationsCreated["11001"])
}

func TestAPIFaultHangProcessesThenTimesOut(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.APIFaultRate, c.APIFaultHangShare, c.APIFaultTimeout = 1, 1, time.Minute
	})
	h.sim.CreateUser(completeUser("11101", "FR"))
	impatient := h.impatientClient(300 * time.Millisecond)

	_, err := impatient.InitiateQES(context.Background(), "11101", "", "qes-11101-1")
	require.Error(t, err)
	require.True(t, treezor.IsRetryable(err), "a timeout is retryable: %v", err)
	created, _, ok := h.sim.LastIdentification("11101")
	require.True(t, ok, "the hanging call was processed")
	require.Equal(t, 1, h.sim.Stats().APIHangs)

	// The retry with the same accessTag gets the identification created by the hung call.
	h.sim.SetChaos(Chaos{})
	ident, err := impatient.InitiateQES(context.Background(), "11101", "", "qes-11101-1")
	require.NoError(t, err)
	require.Equal(t, created, ident.IdentificationID)
	stats := h.sim.Stats()
	require.Equal(t, 1, stats.IdentificationsCreated["11101"])
	require.Equal(t, 1, stats.AccessTagReplays)
}

func TestAPIFaultHangAnswersLate(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.APIFaultRate, c.APIFaultHangShare, c.APIFaultTimeout = 1, 1, 50*time.Millisecond
	})
	h.sim.CreateUser(completeUser("11201", "FR"))
	ident, err := h.client.InitiateQES(context.Background(), "11201", "", "")
	require.NoError(t, err, "a patient client gets the late answer")
	id, _, _ := h.sim.LastIdentification("11201")
	require.Equal(t, id, ident.IdentificationID)
}

func TestAPIFaultRateIsSeeded(t *testing.T) {
	outcomes := func() []int {
		h := newHarness(t, func(c *Config) { c.APIFaultRate = 0.5; c.Seed = 99 })
		tok := h.token("")
		h.sim.CreateUser(completeUser("11301", "FR"))
		var statuses []int
		for range 20 {
			status, _ := h.do(http.MethodPost, "/v1/users/11301/qes", tok, map[string]string{})
			statuses = append(statuses, status)
		}
		created := h.sim.Stats().IdentificationsCreated["11301"]
		ok := 0
		for _, s := range statuses {
			if s == http.StatusCreated {
				ok++
			}
		}
		require.Equal(t, ok, created, "only answered calls created identifications")
		require.Greater(t, ok, 0)
		require.Less(t, ok, 20)
		return statuses
	}
	require.Equal(t, outcomes(), outcomes())
}

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
	impatient := h.impatientClient(200 * time.Millisecond)
	_, err := impatient.InitiateQES(context.Background(), "12201", "", "tag-12201")
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

// impatientClient is a client of the harness's simulator that gives up after timeout.
func (h *harness) impatientClient(timeout time.Duration) *treezor.Client {
	h.t.Helper()
	c, err := treezor.NewClient(treezor.Config{
		BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Timeout: timeout,
	})
	require.NoError(h.t, err)
	return c
}
