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
	impatient, err := treezor.NewClient(treezor.Config{
		BaseURL: h.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret, Timeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)

	_, err = impatient.InitiateQES(context.Background(), "11101", "", "qes-11101-1")
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
